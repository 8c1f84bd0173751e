import { actorsOf, ancestorTokenIdsOf, type ActorClaim } from './delegation.js'
import { malformedClaims as missing, TokenRefusedError } from './errors.js'

/**
 * The claims of a Seed STS access token: RFC 9068's, and the two that let a resource server decide
 * grant and source revocations offline. A stable contract (the STS's README, "For resource servers").
 */
export interface AccessTokenClaims {
  iss: string
  /** The workload's identity, a SPIFFE ID. */
  sub: string
  /** One audience (the STS mints a string; an array is accepted). */
  aud: string | string[]
  exp: number
  iat: number
  nbf?: number
  jti: string
  client_id: string
  /** Space-separated; absent when the token carries no scope. */
  scope?: string
  /** The ids of the grants that gave the token something. */
  grants: string[]
  /** HMAC-SHA-256 of each attestation source id under the deployment's key, base64url. */
  src_h: string[]
  /** RFC 8693 section 4.1: who acts for `sub`, nested back to the first actor; only on a delegated token. */
  act?: ActorClaim
  /** The `jti` of every token of the STS's this one was exchanged from; only on such a token. */
  ancestor_jtis?: string[]
  [claim: string]: unknown
}

/** What a verified token says, for the code that authorizes the request. */
export interface VerifiedToken {
  /** `sub`: the workload's identity, a SPIFFE ID such as `spiffe://example.org/k8s/prod/ns/payments/sa/api`. */
  subject: string
  /** `scope`, split: the permissions granted. */
  scopes: readonly string[]
  /** The audience (of the verifier's) the token is addressed to. */
  audience: string
  /** The ids of the grants that gave the token something. */
  grants: readonly string[]
  /** `jti`: what revoking this one token names. */
  tokenId: string
  /**
   * Who acts for `subject` with this token, current actor first (the `act` claim's `sub`s, outermost
   * first); [] when the subject presents its own token. Each is checked against the revocations.
   */
  actors: readonly string[]
  /** The `act` claim as signed (RFC 8693 section 4.1); absent when there is none. */
  act?: Readonly<ActorClaim>
  /** `ancestor_jtis`: the tokens this one was exchanged from (narrowed or delegated); revoking any of them revokes it. [] when none. */
  ancestorTokenIds: readonly string[]
  /** The `kid` of the key that signed it. */
  keyId: string
  issuedAt: Date
  expiresAt: Date
  /** Every claim, as signed. */
  claims: Readonly<AccessTokenClaims>
}

export interface ClaimExpectations {
  issuer: string
  audiences: readonly string[]
  clockToleranceSeconds: number
  maxTokenLifetimeSeconds: number
}

/** Checks the claims of a token whose signature verified; throws TokenRefusedError naming the first problem. */
export function verifiedClaims(
  payload: Record<string, unknown>,
  kid: string,
  expected: ClaimExpectations,
  nowSeconds: number,
): VerifiedToken {
  const claims = payload as Partial<AccessTokenClaims>
  if (claims.iss !== expected.issuer) throw new TokenRefusedError('issuer_mismatch', `the token's issuer is not ${expected.issuer}`)
  const audiences = typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : []
  const audience = audiences.find((aud) => typeof aud === 'string' && expected.audiences.includes(aud))
  if (audience === undefined)
    throw new TokenRefusedError('audience_mismatch', `the token is not addressed to ${expected.audiences.join(' or ')}`)
  const { exp, iat, nbf } = claims
  if (!isTime(exp) || !isTime(iat) || (nbf !== undefined && !isTime(nbf))) throw missing('exp, iat and nbf must be times (seconds)')
  const tolerance = expected.clockToleranceSeconds
  if (exp <= nowSeconds - tolerance) throw new TokenRefusedError('token_expired', 'the token has expired')
  if (iat > nowSeconds + tolerance || (nbf !== undefined && nbf > nowSeconds + tolerance)) {
    throw new TokenRefusedError('token_not_yet_valid', 'the token is not valid yet')
  }
  // What lets the revocation set forget a revocation once every token it could cover has expired.
  if (exp - iat > expected.maxTokenLifetimeSeconds) {
    throw new TokenRefusedError('token_lifetime_too_long', `the token lives longer than ${expected.maxTokenLifetimeSeconds} s`)
  }
  if (typeof claims.sub !== 'string' || claims.sub === '') throw missing('sub')
  if (typeof claims.jti !== 'string' || claims.jti === '') throw missing('jti')
  if (typeof claims.client_id !== 'string') throw missing('client_id')
  if (claims.scope !== undefined && typeof claims.scope !== 'string') throw missing('scope must be a string')
  // Without them, grant and source revocations could not be decided: refused rather than let through.
  if (!isStringArray(claims.grants)) throw missing('grants')
  if (!isStringArray(claims.src_h)) throw missing('src_h')
  // Every actor and ancestor is checked against the revocations: a claim not read whole is refused.
  const actors = actorsOf(claims.act)
  const ancestorTokenIds = ancestorTokenIdsOf(claims.ancestor_jtis)
  return {
    subject: claims.sub,
    scopes: claims.scope === undefined ? [] : claims.scope.split(' ').filter((scope) => scope !== ''),
    audience,
    grants: claims.grants,
    tokenId: claims.jti,
    actors,
    ...(claims.act === undefined ? {} : { act: claims.act }),
    ancestorTokenIds,
    keyId: kid,
    issuedAt: new Date(iat * 1000),
    expiresAt: new Date(exp * 1000),
    claims: claims as AccessTokenClaims,
  }
}

/** Throws `scope_missing` unless the token has every one of `required`. */
export function requireScopes(token: VerifiedToken, required: readonly string[]): void {
  const missingScopes = required.filter((scope) => !token.scopes.includes(scope))
  if (missingScopes.length > 0) {
    throw new TokenRefusedError('scope_missing', `the token lacks the scope ${missingScopes.join(' ')}`, { requiredScopes: required })
  }
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value)
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string')
}
