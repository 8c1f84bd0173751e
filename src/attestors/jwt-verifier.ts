import { constants, verify as verifySignature, type KeyObject } from 'node:crypto'
import type { JwsAlgorithm } from './jwt-attestor-config.js'
import { InvalidGrantError } from '../errors.js'
import { epochSeconds, type Clock } from '../lib/clock.js'
import { quoteUntrusted } from './untrusted.js'

/**
 * Strict verification of a compact JWS attestation with node:crypto, on the hot path of every token
 * exchange. Everything in a token is untrusted until its signature is checked, so cheap structural and
 * claim checks run first, and nothing the token says can make us fetch or trust a key it names.
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

/**
 * A compact JWS split and decoded, nothing checked but its form: UNTRUSTED. Decoded once per
 * exchange, read by the registry for routing and then verified by the attestor it picks.
 */
export interface UntrustedJwt {
  /** `header.payload`, the bytes the signature covers. */
  signingInput: string
  encodedSignature: string
  header: Record<string, unknown>
  payload: Record<string, unknown>
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

const BASE64URL = /^[A-Za-z0-9_-]+$/
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
   * Verifies `token` and returns its header and claims. `inspect` sees the (still unverified) payload
   * before the claim checks, so a caller can recognise a kind of token it wants to refuse with a
   * better message than "no exp".
   *
   * @example
   * const { payload } = await new JwtVerifier(policy, keySet, systemClock).verify(token)
   */
  async verify(token: string | UntrustedJwt, inspect?: (payload: Record<string, unknown>) => void): Promise<VerifiedJwt> {
    const jwt = typeof token === 'string' ? parseUntrustedJwt(token, this.policy.maxBytes) : token
    const header = checkHeader(jwt.header, this.policy.algorithms)
    const { payload } = jwt
    inspect?.(payload)
    checkClaims(payload, this.policy, epochSeconds(this.clock))
    const key = await this.keys.resolve(header.alg, header.kid)
    if (!signatureMatches(header.alg, key, Buffer.from(jwt.signingInput, 'latin1'), Buffer.from(jwt.encodedSignature, 'base64url'))) {
      throw new InvalidGrantError('the token signature is invalid', 'signature_invalid')
    }
    return { header, payload }
  }
}

/** Splits and decodes a compact JWS, checking only its form. Nothing in the result is trusted yet. */
export function parseUntrustedJwt(token: string, maxBytes: number): UntrustedJwt {
  const [encodedHeader, encodedPayload, encodedSignature] = splitCompact(token, maxBytes)
  return {
    signingInput: token.slice(0, encodedHeader.length + 1 + encodedPayload.length),
    encodedSignature,
    header: decodeJsonObject(encodedHeader, 'header'),
    payload: decodeJsonObject(encodedPayload, 'payload'),
  }
}

/**
 * Reads the `iss` of a token WITHOUT verifying anything, to pick the attestor that will verify it.
 * Never use the result for anything but routing.
 */
export function untrustedIssuerOf(jwt: UntrustedJwt): string {
  const { payload } = jwt
  if (typeof payload.iss !== 'string' || payload.iss === '') {
    throw new InvalidGrantError(`the token has no issuer ("iss" is ${quoteUntrusted(payload.iss)})`, 'claim_missing')
  }
  return payload.iss
}

function splitCompact(token: string, maxBytes: number): [string, string, string] {
  if (typeof token !== 'string' || token === '') throw new InvalidGrantError('the attestation is empty', 'attestation_malformed')
  // Counting UTF-16 units is enough: anything outside ASCII fails the base64url check below.
  if (token.length > maxBytes) throw new InvalidGrantError(`the attestation is larger than ${maxBytes} bytes`, 'attestation_too_large')
  const parts = token.split('.')
  if (parts.length === 5) throw new InvalidGrantError('encrypted tokens (JWE) are not accepted', 'header_not_accepted')
  if (parts.length !== 3) {
    throw new InvalidGrantError(`the attestation is not a JWT: expected 3 parts separated by dots, found ${parts.length}`, 'attestation_malformed')
  }
  if (!parts.every((part) => BASE64URL.test(part))) {
    throw new InvalidGrantError('the attestation is not a JWT: each part must be non-empty base64url', 'attestation_malformed')
  }
  // One token, one spelling: the decoder ignores the spare bits of the last character (and a lone
  // trailing character), so without this check one signed token could be presented in 16 spellings,
  // each looking like a new attestation to anything keyed on its text.
  for (const [index, part] of parts.entries()) {
    if (!isCanonicalBase64url(part)) {
      throw new InvalidGrantError(`the attestation is not a JWT: its ${PART_NAMES[index]} is not canonical base64url (its unused trailing bits must be zero)`, 'attestation_malformed')
    }
  }
  return parts as [string, string, string]
}

const BASE64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/**
 * For text already known to be of the base64url alphabet: what re-encoding the decoded bytes would give
 * back, checked on the last character alone (the hot path decodes each part once, elsewhere). A
 * length of 4n+1 carries a lone character no decoder can use; 4n+2 and 4n+3 leave 4 and 2 bits of the
 * last character unused, which must be zero.
 */
export function isCanonicalBase64url(part: string): boolean {
  const spare = [0, -1, 0x0f, 0x03][part.length % 4]!
  if (spare === -1) return false
  return spare === 0 || (BASE64URL_ALPHABET.indexOf(part[part.length - 1]!) & spare) === 0
}

const PART_NAMES = ['header', 'payload', 'signature'] as const

function decodeJsonObject(part: string, what: 'header' | 'payload'): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
  } catch {
    throw new InvalidGrantError(`the token ${what} is not valid JSON`, 'attestation_malformed')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidGrantError(`the token ${what} is not a JSON object`, 'attestation_malformed')
  }
  return value as Record<string, unknown>
}

function checkHeader(header: Record<string, unknown>, algorithms: readonly JwsAlgorithm[]): JwtHeader {
  const { alg, kid } = header
  if (!(algorithms as readonly unknown[]).includes(alg)) {
    throw new InvalidGrantError(`the token algorithm ${quoteUntrusted(alg, 32)} is not accepted (accepted: ${algorithms.join(', ')})`, 'algorithm_not_accepted')
  }
  for (const name of KEY_HEADERS) {
    if (Object.hasOwn(header, name)) {
      throw new InvalidGrantError(`the token names its own key ("${name}" header); keys come only from the issuer's configured JWKS`, 'header_not_accepted')
    }
  }
  if (Object.hasOwn(header, 'crit')) throw new InvalidGrantError('the token has a "crit" header; no JWS extensions are supported', 'header_not_accepted')
  if (Object.hasOwn(header, 'b64')) throw new InvalidGrantError('the token has a "b64" header; unencoded payloads are not accepted', 'header_not_accepted')
  // Checked before any key lookup, so no kid reaches a cache, a log query or a JWKS refresh unless it is plain.
  if (kid !== undefined && (typeof kid !== 'string' || !KID.test(kid) || kid.includes('..'))) {
    throw new InvalidGrantError(`the token key id ${quoteUntrusted(kid)} is not valid (at most 128 of A-Z a-z 0-9 _ = + . -)`, 'header_not_accepted')
  }
  return header as JwtHeader
}

function checkClaims(payload: Record<string, unknown>, policy: JwtVerificationPolicy, now: number): asserts payload is JwtPayload {
  if (payload.iss !== policy.issuer) {
    throw new InvalidGrantError(`the token issuer ${quoteUntrusted(payload.iss)} is not ${JSON.stringify(policy.issuer)}`, 'issuer_mismatch')
  }
  const { aud } = payload
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) && aud.every((a) => typeof a === 'string') ? (aud as string[]) : undefined
  if (audiences === undefined) throw new InvalidGrantError(`the token audience ("aud") is missing or malformed: ${quoteUntrusted(aud)}`, 'audience_mismatch')
  if (!audiences.includes(policy.audience)) {
    throw new InvalidGrantError(`the token is addressed to ${quoteUntrusted(audiences.join(', '))}, not to ${JSON.stringify(policy.audience)}`, 'audience_mismatch')
  }
  if (payload.exp === undefined) throw new InvalidGrantError('the token has no expiry ("exp"); only expiring tokens are accepted', 'expiry_missing')
  const exp = numericDate(payload, 'exp')!
  const nbf = numericDate(payload, 'nbf')
  const iat = numericDate(payload, 'iat')
  const skew = policy.skewSeconds
  if (nbf !== undefined && nbf > now + skew) throw new InvalidGrantError(`the token is not valid before ${formatTime(nbf)}`, 'token_not_yet_valid')
  if (iat !== undefined && iat > now + skew) throw new InvalidGrantError(`the token was issued in the future (${formatTime(iat)})`, 'token_not_yet_valid')
  if (now >= exp + skew) throw new InvalidGrantError(`the token expired at ${formatTime(exp)}`, 'token_expired')
  const lifetime = exp - (iat ?? nbf ?? now)
  if (lifetime > policy.maxLifetimeSeconds) {
    throw new InvalidGrantError(`the token is valid for ${lifetime} seconds, longer than the ${policy.maxLifetimeSeconds} seconds accepted from this issuer`, 'token_lifetime_too_long')
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
