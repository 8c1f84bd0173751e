import { z } from 'zod'
import { prose } from '../lib/prose.js'
import { TOKEN_EXCHANGE_GRANT } from '../oauth/grant-types.js'
import { ACCESS_TOKEN_ALGORITHMS } from '../tokens/access-token.js'
import { JWS_ALGORITHMS } from '../jose/algorithms.js'
import { component, operation, type Response } from './openapi/operation.js'
import { JWKS_MAX_AGE_SECONDS } from '../keys/key-lifecycle.js'
import { ServiceUnavailable } from './problem-responses.js'

const Jwk = z
  .object({
    kty: z.enum(['EC', 'OKP']),
    kid: z.string(),
    alg: z.enum(ACCESS_TOKEN_ALGORITHMS),
    use: z.literal('sig'),
    crv: z.enum(['P-256', 'Ed25519']),
    x: z.string(),
    y: z.string().optional(),
  })
  .meta({ id: 'Jwk', description: 'A public signing key. EC keys have `crv` P-256, `x` and `y`; OKP keys `crv` Ed25519 and `x`.' })

const Jwks = z
  .object({ keys: z.array(Jwk).min(1) })
  .strict()
  .meta({ id: 'Jwks' })

const Uri = z.url()

const AuthorizationServerMetadata = z
  .object({
    issuer: Uri.describe('The `iss` of every token.'),
    token_endpoint: Uri,
    jwks_uri: Uri,
    introspection_endpoint: Uri.describe('RFC 7662 introspection, with an admin token that has the `introspect` role.'),
    revocation_endpoint: Uri.describe('RFC 7009 revocation, for the holder of a token: the token is the proof.'),
    revocation_endpoint_auth_methods_supported: z
      .array(z.literal('none'))
      .describe('Always `["none"]`: workloads are public clients, and the token revoked (with its key, when bound) is the proof.'),
    grant_types_supported: z.array(z.literal(TOKEN_EXCHANGE_GRANT)),
    response_types_supported: z
      .array(z.literal('none'))
      .length(1)
      .describe('Always `["none"]`: there is no authorization endpoint. RFC 8414 requires the member and forbids an empty array.'),
    token_endpoint_auth_methods_supported: z.array(z.literal('none')),
    subject_token_types_supported: z
      .array(z.string())
      .describe(
        'What `subject_token` (and `actor_token`) may be: the types of the attestors configured, and always `access_token` (one of our own tokens).',
      ),
    requested_token_types_supported: z.array(z.string()),
    access_token_signing_alg_values_supported: z
      .array(z.enum(ACCESS_TOKEN_ALGORITHMS))
      .describe('Algorithms of the published keys. Not a registered RFC 8414 name.'),
    dpop_signing_alg_values_supported: z
      .array(z.enum(JWS_ALGORITHMS))
      .min(1)
      .describe('RFC 9449 section 5.1: the algorithms a DPoP proof may be signed with (`dpop.algorithms`).'),
  })
  .strict()
  .meta({ id: 'AuthorizationServerMetadata' })

const Metadata = component<Response>('responses', 'Metadata', {
  description: 'RFC 8414 authorization server metadata.',
  content: {
    'application/json': {
      schema: AuthorizationServerMetadata,
      example: {
        issuer: 'https://sts.example.org',
        token_endpoint: 'https://sts.example.org/oauth2/token',
        jwks_uri: 'https://sts.example.org/.well-known/jwks.json',
        introspection_endpoint: 'https://sts.example.org/oauth2/introspect',
        revocation_endpoint: 'https://sts.example.org/oauth2/revoke',
        revocation_endpoint_auth_methods_supported: ['none'],
        grant_types_supported: ['urn:ietf:params:oauth:grant-type:token-exchange'],
        response_types_supported: ['none'],
        token_endpoint_auth_methods_supported: ['none'],
        subject_token_types_supported: [
          'urn:ietf:params:oauth:token-type:jwt',
          'urn:ietf:params:oauth:token-type:id_token',
          'urn:ietf:params:oauth:token-type:access_token',
        ],
        requested_token_types_supported: ['urn:ietf:params:oauth:token-type:access_token', 'urn:ietf:params:oauth:token-type:jwt'],
        access_token_signing_alg_values_supported: ['ES256'],
        dpop_signing_alg_values_supported: ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'],
      },
    },
  },
})

export const discoveryOperations = {
  jwks: operation({
    tags: ['discovery'],
    operationId: 'getJwks',
    summary: 'The public keys tokens are signed with',
    description: prose`
      Every key whose tokens may still be live, and the next key before it signs: a new key is
      published at least the cache lifetime (five minutes unless configured) before any token is signed with it, and a
      retired key stays until every token it signed has expired. Pick the key by the token header's
      \`kid\`. A revoked key leaves at once: follow the revocation stream (\`key\` revocations) to drop
      it without waiting for your cache. When a token names a \`kid\` you do not know, refetch this
      document before refusing the token. Answers 503 while the instance's copy of the keys is stale.
    `,
    responses: {
      200: {
        description: 'A JSON Web Key Set (RFC 7517).',
        headers: {
          'Cache-Control': {
            description: 'Cache for at most this long (`keys.jwksMaxAgeSeconds`, five minutes by default): the key timings count on it.',
            required: true,
            schema: z
              .string()
              .regex(/^public, max-age=\d+$/)
              .meta({ example: `public, max-age=${JWKS_MAX_AGE_SECONDS}` }),
          },
        },
        content: {
          'application/json': {
            schema: Jwks,
            example: {
              keys: [
                {
                  kty: 'EC',
                  crv: 'P-256',
                  x: 'rNuePENN3nxTbA33rWFPFDAv4o64m93W6sklve4gu7s',
                  y: 'J5lyYN1lDYl_CEhxKhI7sZN14paQUidSeIz1TB_igrw',
                  kid: '4ggSJa-0iCyIMR0irMtyP4IJc2vR5a366mHnOKPtfaM',
                  alg: 'ES256',
                  use: 'sig',
                },
              ],
            },
          },
        },
      },
      503: ServiceUnavailable,
    },
  }),
  authorizationServerMetadata: operation({
    tags: ['discovery'],
    operationId: 'getAuthorizationServerMetadata',
    summary: 'Authorization server metadata (RFC 8414)',
    responses: { 200: Metadata },
  }),
  openIdConfiguration: operation({
    tags: ['discovery'],
    operationId: 'getOpenIdConfiguration',
    summary: 'The same metadata at the path OpenID client libraries look at',
    description: prose`
      The RFC 8414 document of \`/.well-known/oauth-authorization-server\`, served here because most
      client libraries discover this path. It is not an OpenID Connect provider configuration: there
      is no authorization endpoint and no ID token.
    `,
    responses: { 200: Metadata },
  }),
}
