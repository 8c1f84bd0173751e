import { createHash, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import { InvalidDpopProofError } from '../errors.js'
import type { JwsAlgorithm } from '../jose/algorithms.js'
import { signatureMatches } from '../jose/jwt-verifier.js'
import { FAMILY_OF_ALGORITHM, familyOf, MIN_RSA_BITS } from '../jose/key-families.js'
import { clipUntrusted } from '../lib/untrusted-text.js'

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
  if (family === 'RSA' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS) {
    throw new InvalidDpopProofError(`the DPoP proof's RSA key is shorter than ${MIN_RSA_BITS} bits`)
  }
  const signatureAt = proof.lastIndexOf('.')
  const signature = Buffer.from(proof.slice(signatureAt + 1), 'base64url')
  if (!signatureMatches(alg, key, Buffer.from(proof.slice(0, signatureAt), 'latin1'), signature)) {
    throw new InvalidDpopProofError("the DPoP proof's signature does not verify with its jwk")
  }
  const payload = jsonObjectOf(proof.slice(proof.indexOf('.') + 1, signatureAt))
  if (payload === undefined) throw new InvalidDpopProofError("the DPoP proof's claims are not a JSON object")
  return { payload, jkt: thumbprintOf(key) }
}

/** RFC 7638: SHA-256 of the key's required members, in lexicographic order, without whitespace. */
function thumbprintOf(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' })
  const members =
    jwk.kty === 'EC'
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      : jwk.kty === 'OKP'
        ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
        : { e: jwk.e, kty: jwk.kty, n: jwk.n }
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
