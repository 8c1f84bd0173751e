import { constants, verify as verifySignature, type KeyObject } from 'node:crypto'
import { InvalidGrantError } from '../errors.js'
import { epochSeconds, type Clock } from '../lib/clock.js'
import { quoteUntrusted } from '../lib/untrusted-text.js'
import type { JwsAlgorithm } from './algorithms.js'
import { parseUntrustedJwt, type UntrustedJwt } from './compact-jws.js'

/**
 * Strict verification of a compact JWS attestation with node:crypto, on the hot path of every token
 * exchange, in the order of jose's jwsVerify: first the cheap checks of the header's form (algorithm,
 * headers that name a key or an extension, the form of `kid`), then the signature, with a key from the
 * configuration only, and only then the claims. Until the signature verifies nothing the payload says
 * is believed or repeated back, so a forged token is refused for its signature whatever its claims say.
 */

export interface JwtVerificationPolicy {
  /** The exact `iss` required. */
  issuer: string
  /** A value `aud` must be or contain. */
  audience: string
  algorithms: readonly JwsAlgorithm[]
  /** The longest `exp - (iat ?? nbf ?? now)` accepted. */
  maxLifetimeSeconds: number
  skewSeconds: number
  maxBytes: number
}

export interface JwtHeader extends Record<string, unknown> {
  alg: JwsAlgorithm
  kid?: string
}

export interface JwtPayload extends Record<string, unknown> {
  exp: number
}

export interface VerifiedJwt {
  header: JwtHeader
  payload: JwtPayload
}

/** Finds the trusted key for a token; throws InvalidGrantError or ServiceUnavailableError. */
export interface KeyResolver {
  resolve(alg: JwsAlgorithm, kid: string | undefined): Promise<KeyObject>
}

interface SignatureScheme {
  digest: string | null
  options: { padding?: number; saltLength?: number; dsaEncoding?: 'ieee-p1363' }
}

const PKCS1 = constants.RSA_PKCS1_PADDING
const PSS = constants.RSA_PKCS1_PSS_PADDING
const SCHEMES: Record<JwsAlgorithm, SignatureScheme> = {
  RS256: { digest: 'sha256', options: { padding: PKCS1 } },
  RS384: { digest: 'sha384', options: { padding: PKCS1 } },
  RS512: { digest: 'sha512', options: { padding: PKCS1 } },
  PS256: { digest: 'sha256', options: { padding: PSS, saltLength: 32 } },
  PS384: { digest: 'sha384', options: { padding: PSS, saltLength: 48 } },
  PS512: { digest: 'sha512', options: { padding: PSS, saltLength: 64 } },
  // JWS carries ECDSA signatures as r||s (RFC 7518 section 3.4), not DER.
  ES256: { digest: 'sha256', options: { dsaEncoding: 'ieee-p1363' } },
  ES384: { digest: 'sha384', options: { dsaEncoding: 'ieee-p1363' } },
  ES512: { digest: 'sha512', options: { dsaEncoding: 'ieee-p1363' } },
  // Ed25519 and Ed448 hash internally: no digest.
  EdDSA: { digest: null, options: {} },
}

const KID = /^[A-Za-z0-9_=+.-]{1,128}$/
/** Headers that name a key: trusting them would let the token choose the key that verifies it. */
const KEY_HEADERS = ['jwk', 'jku', 'x5u', 'x5c'] as const

export class JwtVerifier {
  constructor(
    private readonly policy: JwtVerificationPolicy,
    private readonly keys: KeyResolver,
    private readonly clock: Clock,
  ) {}

  /**
   * Verifies `token` and returns its header and claims. `inspect` sees the payload once the signature
   * has verified and before the claim checks, so a caller can recognise a kind of token it wants to
   * refuse with a better message than "no exp".
   *
   * @example
   * const { payload } = await new JwtVerifier(policy, keySet, systemClock).verify(token)
   */
  async verify(token: string | UntrustedJwt, inspect?: (payload: Record<string, unknown>) => void): Promise<VerifiedJwt> {
    const jwt = typeof token === 'string' ? parseUntrustedJwt(token, this.policy.maxBytes) : token
    const header = checkHeader(jwt.header, this.policy.algorithms)
    const key = await this.keys.resolve(header.alg, header.kid)
    if (!signatureMatches(header.alg, key, Buffer.from(jwt.signingInput, 'latin1'), Buffer.from(jwt.encodedSignature, 'base64url'))) {
      throw new InvalidGrantError('the token signature is invalid', 'signature_invalid')
    }
    // The issuer's word from here on: what remains is whether we accept what it said.
    const { payload } = jwt
    inspect?.(payload)
    checkClaims(payload, this.policy, epochSeconds(this.clock))
    return { header, payload }
  }
}

function checkHeader(header: Record<string, unknown>, algorithms: readonly JwsAlgorithm[]): JwtHeader {
  const { alg, kid } = header
  if (!(algorithms as readonly unknown[]).includes(alg)) {
    throw new InvalidGrantError(
      `the token algorithm ${quoteUntrusted(alg, 32)} is not accepted (accepted: ${algorithms.join(', ')})`,
      'algorithm_not_accepted',
    )
  }
  for (const name of KEY_HEADERS) {
    if (Object.hasOwn(header, name)) {
      throw new InvalidGrantError(
        `the token names its own key ("${name}" header); keys come only from the issuer's configured JWKS`,
        'header_not_accepted',
      )
    }
  }
  if (Object.hasOwn(header, 'crit'))
    throw new InvalidGrantError('the token has a "crit" header; no JWS extensions are supported', 'header_not_accepted')
  if (Object.hasOwn(header, 'b64'))
    throw new InvalidGrantError('the token has a "b64" header; unencoded payloads are not accepted', 'header_not_accepted')
  // Checked before any key lookup, so no kid reaches a cache, a log query or a JWKS refresh unless it is plain.
  if (kid !== undefined && (typeof kid !== 'string' || !KID.test(kid) || kid.includes('..'))) {
    throw new InvalidGrantError(
      `the token key id ${quoteUntrusted(kid)} is not valid (at most 128 of A-Z a-z 0-9 _ = + . -)`,
      'header_not_accepted',
    )
  }
  return header as JwtHeader
}

function checkClaims(payload: Record<string, unknown>, policy: JwtVerificationPolicy, now: number): asserts payload is JwtPayload {
  if (payload.iss !== policy.issuer) {
    throw new InvalidGrantError(
      `the token issuer ${quoteUntrusted(payload.iss)} is not ${JSON.stringify(policy.issuer)}`,
      'issuer_mismatch',
    )
  }
  const { aud } = payload
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) && aud.every((a) => typeof a === 'string') ? aud : undefined
  if (audiences === undefined)
    throw new InvalidGrantError(`the token audience ("aud") is missing or malformed: ${quoteUntrusted(aud)}`, 'audience_mismatch')
  if (!audiences.includes(policy.audience)) {
    throw new InvalidGrantError(
      `the token is addressed to ${quoteUntrusted(audiences.join(', '))}, not to ${JSON.stringify(policy.audience)}`,
      'audience_mismatch',
    )
  }
  if (payload.exp === undefined)
    throw new InvalidGrantError('the token has no expiry ("exp"); only expiring tokens are accepted', 'expiry_missing')
  const exp = numericDate(payload, 'exp')!
  const nbf = numericDate(payload, 'nbf')
  const iat = numericDate(payload, 'iat')
  const skew = policy.skewSeconds
  if (nbf !== undefined && nbf > now + skew)
    throw new InvalidGrantError(`the token is not valid before ${formatTime(nbf)}`, 'token_not_yet_valid')
  if (iat !== undefined && iat > now + skew)
    throw new InvalidGrantError(`the token was issued in the future (${formatTime(iat)})`, 'token_not_yet_valid')
  if (now >= exp + skew) throw new InvalidGrantError(`the token expired at ${formatTime(exp)}`, 'token_expired')
  const lifetime = exp - (iat ?? nbf ?? now)
  if (lifetime > policy.maxLifetimeSeconds) {
    throw new InvalidGrantError(
      `the token is valid for ${lifetime} seconds, longer than the ${policy.maxLifetimeSeconds} seconds accepted from this issuer`,
      'token_lifetime_too_long',
    )
  }
}

function numericDate(payload: Record<string, unknown>, claim: 'exp' | 'nbf' | 'iat'): number | undefined {
  const value = payload[claim]
  if (value === undefined) return undefined
  // JSON.parse turns 1e400 into Infinity: refuse it here rather than compute with it.
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidGrantError(`the token "${claim}" claim is not a finite number of seconds`, 'claim_invalid')
  }
  return value
}

function formatTime(seconds: number): string {
  const date = new Date(seconds * 1000)
  return Number.isNaN(date.getTime()) ? `${seconds}` : date.toISOString()
}

/** Whether `signature` is `alg`'s signature of `data` under `key`; never throws. */
export function signatureMatches(alg: JwsAlgorithm, key: KeyObject, data: Buffer, signature: Buffer): boolean {
  const { digest, options } = SCHEMES[alg]
  try {
    return verifySignature(digest, data, { ...options, key }, signature)
  } catch {
    // A malformed signature or a key that cannot do this scheme: no match, never a 500.
    return false
  }
}
