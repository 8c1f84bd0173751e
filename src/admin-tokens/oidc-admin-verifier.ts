import { InvalidGrantError, UnauthenticatedError } from '../errors.js'
import { parseUntrustedJwt, type UntrustedJwt } from '../jose/compact-jws.js'
import { DiscoveredKeySet } from '../jose/discovered-key-set.js'
import type { JwksFetcher } from '../jose/jwks-fetcher.js'
import { RemoteKeySet } from '../jose/jwks-key-set.js'
import { JwtVerifier, type KeyResolver } from '../jose/jwt-verifier.js'
import type { Clock } from '../lib/clock.js'
import { quoteUntrusted } from '../lib/untrusted-text.js'
import type { AdminIdentity } from './admin-token.js'
import type { AdminOidcConfig } from './oidc-config.js'
import { principalOf } from './oidc-principal.js'

/** Who a bearer token of the identity provider stands for; throws the refusal (401, 403, or 503 when its keys cannot be had). */
export interface AdminPrincipalVerifier {
  identify(token: string): Promise<AdminIdentity>
}

// What fits in a request header (Node's limit is 16 KiB for all of them), with room for a long groups claim.
const MAX_TOKEN_BYTES = 16_384

/**
 * ID tokens (`JWT`, or none) and RFC 9068 access tokens (`at+jwt`). Any other declared type (a logout
 * token, a DPoP proof, a security event) was made for something else, and is refused however valid.
 */
const ACCEPTED_TYPES = new Set(['jwt', 'at+jwt'])

export interface OidcAdminVerifierDeps {
  /** The composition root's JSON fetcher: the discovery document and the JWKS. */
  fetch: JwksFetcher
  clock: Clock
}

/**
 * Verifies a token of the configured identity provider with the project's strict JWS verifier (the one
 * attestors use: asymmetric algorithms of the allow-list only, keys only from the provider's JWKS,
 * signature first, then `iss`, `aud`, `exp`, `nbf`, `iat` with the skew), then maps its claims to an
 * admin principal (oidc-principal.ts). Nothing the token says is believed until its signature verifies.
 */
export class OidcAdminVerifier implements AdminPrincipalVerifier {
  private readonly verifier: JwtVerifier

  constructor(
    private readonly config: AdminOidcConfig,
    deps: OidcAdminVerifierDeps,
  ) {
    this.verifier = new JwtVerifier(
      {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: config.algorithms,
        maxLifetimeSeconds: config.maxTokenLifetimeSeconds,
        skewSeconds: config.clockSkewSeconds,
        maxBytes: MAX_TOKEN_BYTES,
      },
      keySetOf(config, deps),
      deps.clock,
    )
  }

  async identify(token: string): Promise<AdminIdentity> {
    try {
      const jwt = parseUntrustedJwt(token, MAX_TOKEN_BYTES)
      checkType(jwt)
      const { payload } = await this.verifier.verify(jwt)
      return principalOf(payload, this.config)
    } catch (error) {
      // The verifier speaks of attestations and token exchanges; here the same refusals are a failed sign-in.
      if (error instanceof InvalidGrantError)
        throw new UnauthenticatedError(`the identity provider's token is not accepted: ${error.message}`, 'oidc_token_invalid')
      throw error
    }
  }
}

function checkType(jwt: UntrustedJwt): void {
  const { typ } = jwt.header
  if (typ === undefined) return
  const type = typeof typ === 'string' ? typ.toLowerCase().replace(/^application\//, '') : undefined
  if (type === undefined || !ACCEPTED_TYPES.has(type))
    throw new InvalidGrantError(
      `its type ("typ") ${quoteUntrusted(typ, 32)} is neither an ID token's (JWT) nor an access token's (at+jwt)`,
      'header_not_accepted',
    )
}

function keySetOf(config: AdminOidcConfig, deps: OidcAdminVerifierDeps): KeyResolver {
  const options = {
    issuer: config.issuer,
    fetch: deps.fetch,
    clock: deps.clock,
    cacheSeconds: config.jwksCacheSeconds,
    refreshCooldownSeconds: config.jwksRefreshCooldownSeconds,
  }
  return config.jwksUri === undefined ? new DiscoveredKeySet(options) : new RemoteKeySet({ ...options, uri: config.jwksUri })
}

/**
 * Whether a bearer secret is shaped like a JWT (three base64url parts, the first a JSON object), so it
 * goes to the identity provider's verifier rather than the admin token store. Only the shape is looked at.
 */
export function looksLikeJwt(secret: string): boolean {
  return /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/.test(secret)
}
