import { InvalidGrantError } from '../errors.js'
import { quoteUntrusted } from '../lib/untrusted-text.js'

/**
 * A compact JWS split and decoded once, and nothing more: everything in it is UNTRUSTED until a
 * verifier has checked its signature (jwt-verifier.ts). The one thing read from it before that is the
 * issuer, to pick which keys verify it (untrustedIssuerOf).
 */

/** Decoded once per exchange: read by the registry for routing, then verified by the attestor it picks. */
export interface UntrustedJwt {
  /** `header.payload`, the bytes the signature covers. */
  signingInput: string
  encodedSignature: string
  header: Record<string, unknown>
  payload: Record<string, unknown>
}

const BASE64URL = /^[A-Za-z0-9_-]+$/

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
    throw new InvalidGrantError(
      `the attestation is not a JWT: expected 3 parts separated by dots, found ${parts.length}`,
      'attestation_malformed',
    )
  }
  if (!parts.every((part) => BASE64URL.test(part))) {
    throw new InvalidGrantError('the attestation is not a JWT: each part must be non-empty base64url', 'attestation_malformed')
  }
  // One token, one spelling: the decoder ignores the spare bits of the last character (and a lone
  // trailing character), so without this check one signed token could be presented in 16 spellings,
  // each looking like a new attestation to anything keyed on its text.
  for (const [index, part] of parts.entries()) {
    if (!isCanonicalBase64url(part)) {
      throw new InvalidGrantError(
        `the attestation is not a JWT: its ${PART_NAMES[index]} is not canonical base64url (its unused trailing bits must be zero)`,
        'attestation_malformed',
      )
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
  const spare = [0, -1, 0x0f, 0x03][part.length % 4]
  if (spare === -1) return false
  return spare === 0 || (BASE64URL_ALPHABET.indexOf(part[part.length - 1]) & spare) === 0
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
