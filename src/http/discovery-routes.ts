import type { FastifyInstance } from 'fastify'
import { SUPPORTED_REQUESTED_TOKEN_TYPES } from '../exchange/token-request.js'
import { TOKEN_EXCHANGE_GRANT } from '../oauth/grant-types.js'
import { TOKEN_TYPE } from '../oauth/token-types.js'
import type { KeyRing } from '../keys/key-ring.js'
import { discoveryOperations } from './discovery-operations.js'

export interface DiscoveryOptions {
  issuer: string
  /** This instance's copy of the signing keys: the JWKS serves the published ones (next, current, retired). */
  keys: Pick<KeyRing, 'publicJwks'>
  /** keys.algorithm: what new keys are signed with, beside the algorithms of the keys published now. */
  algorithm: string
  /** keys.jwksMaxAgeSeconds: how long verifiers may cache the JWKS. */
  jwksMaxAgeSeconds: number
  /** The subject token types the configured attestors take, as now configured (a reload may change them). */
  subjectTokenTypes: () => string[]
  /** dpop.algorithms: what DPoP proofs may be signed with. */
  dpopAlgorithms: readonly string[]
}

/** RFC 8414 metadata (also at the OpenID path, where most client libraries look) and the JWKS. */
export async function discoveryRoutes(app: FastifyInstance, options: DiscoveryOptions): Promise<void> {
  const metadata = () => ({
    issuer: options.issuer,
    token_endpoint: `${options.issuer}/oauth2/token`,
    jwks_uri: `${options.issuer}/.well-known/jwks.json`,
    introspection_endpoint: `${options.issuer}/oauth2/introspect`,
    revocation_endpoint: `${options.issuer}/oauth2/revoke`,
    // RFC 7009 for holders: no client authentication, the token revoked is the proof.
    revocation_endpoint_auth_methods_supported: ['none'],
    grant_types_supported: [TOKEN_EXCHANGE_GRANT],
    // REQUIRED by RFC 8414 §2, and §3.2 says an array with no elements MUST be omitted, so validators
    // (authlib's) refuse both [] and its absence. There is no authorization endpoint (workloads never go
    // through a browser), so the one value that is true is `none` (registered by OAuth 2.0 Multiple
    // Response Type Encoding Practices §4): nothing is ever issued through an authorization endpoint.
    response_types_supported: ['none'],
    token_endpoint_auth_methods_supported: ['none'],
    // Our own access tokens are always taken (to narrow one, or to act for its subject); attestations as configured.
    subject_token_types_supported: [...options.subjectTokenTypes(), TOKEN_TYPE.accessToken],
    requested_token_types_supported: [...SUPPORTED_REQUESTED_TOKEN_TYPES],
    // The keys change at run time (rotation), and a key of another algorithm may still be published.
    access_token_signing_alg_values_supported: [...new Set([options.algorithm, ...options.keys.publicJwks().keys.map((key) => key.alg)])],
    // RFC 9449 section 5.1: its presence also says the token endpoint takes DPoP proofs.
    dpop_signing_alg_values_supported: [...options.dpopAlgorithms],
  })
  const sendMetadata = async () => metadata()
  // Never shed: answered from memory, and verifiers of the tokens already issued need the keys.
  const config = { overload: 'never-shed' as const }
  app.get('/.well-known/oauth-authorization-server', { config, schema: discoveryOperations.authorizationServerMetadata }, sendMetadata)
  app.get('/.well-known/openid-configuration', { config, schema: discoveryOperations.openIdConfiguration }, sendMetadata)
  app.get('/.well-known/jwks.json', { config, schema: discoveryOperations.jwks }, async (_request, reply) => {
    // The key timings count on this max-age (src/keys/key-lifecycle.ts): a verifier caching longer may
    // meet a token signed with a key it has not fetched yet.
    return reply.header('cache-control', `public, max-age=${options.jwksMaxAgeSeconds}`).send(options.keys.publicJwks())
  })
}
