import { createHash } from 'node:crypto'
import type { UntrustedJwt } from '../jose/compact-jws.js'
import type { JwtPayload } from '../jose/jwt-verifier.js'

/**
 * The SHA-256 (base64url) of exactly what an issuer signed: one attestation has one fingerprint,
 * however it was wrapped, spaced or spelled on the way to us.
 *
 * @example
 * fingerprintOf(verified.signedBytes) // 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg'
 */
export function fingerprintOf(signed: string | Uint8Array): string {
  return createHash('sha256').update(signed).digest('base64url')
}

/**
 * A JWS is fingerprinted by its signing input (`header.payload`), never by its signature: an ECDSA
 * signature (r, s) has a twin (r, n - s) that verifies as well, and a signature is not part of what
 * the issuer said. The parser only accepts canonical base64url, so the signing input has one spelling.
 */
export function jwsFingerprint(jwt: UntrustedJwt): string {
  return fingerprintOf(jwt.signingInput)
}

/**
 * What makes a verified JWT attestation single-use: its `jti` names it (or, without one, the hash of
 * what was signed), scoped by issuer; the claim on it is kept until the token could not pass the
 * expiry check anyway, so the replay store never grows past the tokens still alive.
 */
export function singleUseOf(jwt: UntrustedJwt, payload: JwtPayload, issuer: string, skewSeconds: number): { key: string; until: Date } {
  const id = typeof payload.jti === 'string' && payload.jti !== '' ? `jti:${payload.jti}` : `sha256:${jwsFingerprint(jwt)}`
  return { key: `${issuer}|${id}`, until: new Date((payload.exp + skewSeconds) * 1000) }
}
