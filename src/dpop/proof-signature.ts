import { createHash, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import { InvalidDpopProofError } from '../errors.js'
import type { JwsAlgorithm } from '../jose/algorithms.js'
import { signatureMatches } from '../jose/jwt-verifier.js'
import { FAMILY_OF_ALGORITHM, familyOf, MIN_RSA_BITS } from '../jose/key-families.js'
import { clipUntrusted } from '../lib/untrusted-text.js'

const MAX_RSA_BITS = 8192
const MAX_RSA_EXPONENT = 2n ** 32n

/**
 * The signature of a DPoP proof, checked with node:crypto against the key its header carries, and the
 * key's RFC 7638 thumbprint. Every DPoP exchange pays for this, so it is done as the service checks
 * attestations (src/jose/jwt-verifier.ts), not through WebCrypto: about a third of the time.
 */

/** The JOSE header of a compact JWS, not yet trusted; throws InvalidDpopProofError when it cannot be read. */
export function untrustedHeaderOf(proof: string): Record<string, unknown> {
  const header = jsonObjectOf(proof.slice(0, proof.indexOf('.')))
  if (header === undefined) throw new InvalidDpopProofError('the DPoP proof has no readable JOSE header')
  return header
}

/**
 * The claims of `proof`, once its signature verifies under `jwk` (the header's, already checked to be a
 * public key of an accepted algorithm's family), with that key's thumbprint. Refuses extensions it
 * does not take (`crit`), a key of another family than `alg`'s, an RSA key under 2048 bits, and claims
 * that are not a JSON object.
 */
export function verifiedProof(
  proof: string,
  header: Record<string, unknown>,
  alg: JwsAlgorithm,
  jwk: object,
): { payload: Record<string, unknown>; jkt: string } {
  if (header.crit !== undefined) throw new InvalidDpopProofError("the DPoP proof's header has crit: no extension is accepted")
  if (header.b64 !== undefined)
    throw new InvalidDpopProofError("the DPoP proof's header has b64: its payload must be base64url, as a JWT's")
  ensureForSigning(jwk as Record<string, unknown>, alg)
  let key: KeyObject
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' })
  } catch (error) {
    throw new InvalidDpopProofError(`the DPoP proof's jwk is not a usable public key: ${clipUntrusted((error as Error).message, 100)}`)
  }
  const family = familyOf(key)
  if (family !== FAMILY_OF_ALGORITHM[alg]) {
    throw new InvalidDpopProofError(
      `the DPoP proof's jwk is ${family === undefined ? 'a key of no accepted kind' : `a ${family} key`}, which cannot verify ${alg}`,
    )
  }
  if (family === 'RSA') ensureRsaSize(key)
  const signatureAt = proof.lastIndexOf('.')
  const signature = Buffer.from(proof.slice(signatureAt + 1), 'base64url')
  if (!signatureMatches(alg, key, Buffer.from(proof.slice(0, signatureAt), 'latin1'), signature)) {
    throw new InvalidDpopProofError("the DPoP proof's signature does not verify with its jwk")
  }
  const payload = jsonObjectOf(proof.slice(proof.indexOf('.') + 1, signatureAt))
  if (payload === undefined) throw new InvalidDpopProofError("the DPoP proof's claims are not a JSON object")
  return { payload, jkt: thumbprintOf(jwk as Record<string, unknown>) }
}

/** A key the proof names for something else (`alg`, `use`, `key_ops`) does not verify it. */
function ensureForSigning(jwk: Record<string, unknown>, alg: JwsAlgorithm): void {
  if (jwk.alg !== undefined && jwk.alg !== alg) {
    throw new InvalidDpopProofError(
      `the DPoP proof's jwk is for ${typeof jwk.alg === 'string' ? JSON.stringify(clipUntrusted(jwk.alg, 20)) : typeof jwk.alg}, not ${alg}`,
    )
  }
  if (jwk.use !== undefined && jwk.use !== 'sig') throw new InvalidDpopProofError("the DPoP proof's jwk is not for signatures (use)")
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) {
    throw new InvalidDpopProofError("the DPoP proof's jwk is not for verifying signatures (key_ops)")
  }
}

/**
 * At least MIN_RSA_BITS, and no key that makes a forged proof cost the service far more than a real
 * one: a modulus of at most 8192 bits, a public exponent of at most 2^32 (65537 in practice).
 */
function ensureRsaSize(key: KeyObject): void {
  const { modulusLength = 0, publicExponent = 0n } = key.asymmetricKeyDetails ?? {}
  if (modulusLength < MIN_RSA_BITS) throw new InvalidDpopProofError(`the DPoP proof's RSA key is shorter than ${MIN_RSA_BITS} bits`)
  if (modulusLength > MAX_RSA_BITS || publicExponent > MAX_RSA_EXPONENT) {
    throw new InvalidDpopProofError(
      `the DPoP proof's RSA key is larger than accepted (at most ${MAX_RSA_BITS} bits, exponent at most 2^32)`,
    )
  }
}

/**
 * RFC 7638: SHA-256 of the key's required members as the JWK spells them, in lexicographic order,
 * without whitespace; what jose and every client compute (the client library's verifier included),
 * so a key encoded with a leading zero byte keeps the thumbprint its holder computes.
 */
function thumbprintOf(jwk: Record<string, unknown>): string {
  const required = jwk.kty === 'EC' ? ['crv', 'kty', 'x', 'y'] : jwk.kty === 'OKP' ? ['crv', 'kty', 'x'] : ['e', 'kty', 'n']
  const members = Object.fromEntries(required.map((name) => [name, jwk[name]]))
  if (!required.every((name) => typeof members[name] === 'string')) {
    throw new InvalidDpopProofError(`the DPoP proof's jwk must have ${required.join(', ')} as strings`)
  }
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url')
}

function jsonObjectOf(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
