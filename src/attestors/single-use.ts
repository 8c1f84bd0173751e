import { createHash } from 'node:crypto'
import type { JwtPayload, UntrustedJwt } from './jwt-verifier.js'

/**
 * What makes a verified JWT attestation single-use: its `jti` names it (or, without one, its own
 * hash), scoped by issuer; the claim on it is kept until the token could not pass the expiry check
 * anyway, so the replay store never grows past the tokens still alive.
 */
export function singleUseOf(jwt: UntrustedJwt, payload: JwtPayload, issuer: string, skewSeconds: number): { key: string; until: Date } {
  const id =
    typeof payload.jti === 'string' && payload.jti !== ''
      ? `jti:${payload.jti}`
      : `sha256:${createHash('sha256').update(`${jwt.signingInput}.${jwt.encodedSignature}`).digest('base64url')}`
  return { key: `${issuer}|${id}`, until: new Date((payload.exp + skewSeconds) * 1000) }
}
