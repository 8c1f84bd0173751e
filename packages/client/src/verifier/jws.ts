import { verify, type KeyObject } from 'node:crypto'
import { TokenRefusedError } from './errors.js'

/**
 * The compact JWS of an access token, split and decoded but not verified: everything in it is
 * untrusted until `signatureValid` says the key signed it. Only what Seed STS signs with is accepted
 * (ES256, EdDSA), checked on node:crypto directly, synchronously: one core does the work, and its cost
 * is the signature's (see the bench).
 */

export const ACCEPTED_ALGORITHMS = ['ES256', 'EdDSA'] as const
export type AcceptedAlgorithm = (typeof ACCEPTED_ALGORITHMS)[number]

/** Larger than any token the STS mints (about 1 KB), smaller than anything worth parsing. */
const MAX_TOKEN_LENGTH = 8192
const SEGMENT = /^[A-Za-z0-9_-]+$/

export interface UntrustedJws {
  alg: AcceptedAlgorithm
  kid: string
  header: Record<string, unknown>
  payload: Record<string, unknown>
  signingInput: Buffer
  signature: Buffer
}

/** Splits and decodes the token and checks its header; throws TokenRefusedError for anything else. */
export function parseAccessTokenJws(token: string): UntrustedJws {
  if (token.length > MAX_TOKEN_LENGTH) throw malformed(`the token is longer than ${MAX_TOKEN_LENGTH} characters`)
  const parts = token.split('.')
  if (parts.length !== 3 || !parts.every((part) => SEGMENT.test(part)))
    throw malformed('the token is not a compact JWS (three base64url parts)')
  const [encodedHeader, encodedPayload, encodedSignature] = parts as [string, string, string]
  const header = jsonObject(encodedHeader, 'header')
  const payload = jsonObject(encodedPayload, 'claims')
  const { alg, typ, kid } = header
  if (typeof alg !== 'string' || !(ACCEPTED_ALGORITHMS as readonly string[]).includes(alg)) {
    throw new TokenRefusedError('algorithm_not_accepted', `the token is signed with ${String(alg)}; only ES256 and EdDSA are accepted`)
  }
  // RFC 9068 section 4: `at+jwt`, or the full media type; compared without case (RFC 7515 section 4.1.9).
  const type = typeof typ === 'string' ? typ.toLowerCase() : undefined
  if (type !== 'at+jwt' && type !== 'application/at+jwt') {
    throw new TokenRefusedError('type_not_accepted', `the token's typ is ${String(typ)}, not at+jwt: it is not an RFC 9068 access token`)
  }
  // Extensions the verifier would have to understand to be safe (RFC 7515 section 4.1.11, RFC 7797).
  if ('crit' in header || 'b64' in header)
    throw new TokenRefusedError('type_not_accepted', 'the token has a crit or b64 header, which is refused')
  if (typeof kid !== 'string' || kid === '') throw malformed('the token names no key (kid)')
  return {
    alg: alg as AcceptedAlgorithm,
    kid,
    header,
    payload,
    signingInput: Buffer.from(`${encodedHeader}.${encodedPayload}`, 'latin1'),
    signature: Buffer.from(encodedSignature, 'base64url'),
  }
}

/** Whether `key` signed the JWS. A key of the wrong type for the algorithm never verifies. */
export function signatureValid(jws: UntrustedJws, key: KeyObject): boolean {
  if (jws.signature.length !== 64) return false
  if (jws.alg === 'ES256') {
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return false
    return verify('sha256', jws.signingInput, { key, dsaEncoding: 'ieee-p1363' }, jws.signature)
  }
  if (key.asymmetricKeyType !== 'ed25519') return false
  return verify(null, jws.signingInput, key, jws.signature)
}

function jsonObject(segment: string, what: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch {
    throw malformed(`the token's ${what} is not JSON`)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed(`the token's ${what} is not a JSON object`)
  return value as Record<string, unknown>
}

function malformed(message: string): TokenRefusedError {
  return new TokenRefusedError('token_malformed', message)
}
