import { createHash, generateKeyPairSync, randomUUID, sign, type KeyObject } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type { LoadTarget } from './load.js'

/**
 * DPoP (RFC 9449) for the bench: the same exchanges with a fresh proof on each, so a run shows what a
 * bound token costs beside a bearer one. The load generator makes the proofs, as a client would, but
 * before the window: it shares two cores with the service, Postgres and Redis, and signing in the loop
 * would take the service's CPU and so count the client's cost as the service's. The pool is signed with
 * node:crypto (ES256, P1363 signatures, as JWS wants), each proof used once (its jti single-use), and
 * sized from the bearer rate of the same run, which a DPoP exchange does not beat; should it run out,
 * the rest are signed in the loop and counted, so the figure says so.
 */

export interface ProofPool {
  /** The n-th request's `DPoP` header. */
  headersFor(n: number): Record<string, string>
  size: number
  signingSeconds: number
  /** Thumbprints (RFC 7638) of the pool's keys, to check a bound token against. */
  thumbprints: string[]
  /** Proofs signed during the window because the pool ran out. */
  signedInLoop(): number
}

interface ProofKey {
  privateKey: KeyObject
  header: string
  jkt: string
}

/** Keys of as many clients as there are connections (at most 64): proofs are per key, jti per proof. */
function proofKeys(count: number): ProofKey[] {
  return Array.from({ length: count }, () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const { crv, kty, x, y } = publicKey.export({ format: 'jwk' })
    // RFC 7638: the required members, in lexicographic order, no whitespace.
    const jkt = createHash('sha256').update(JSON.stringify({ crv, kty, x, y })).digest('base64url')
    const header = base64url({ alg: 'ES256', typ: 'dpop+jwt', jwk: { kty, crv, x, y } })
    return { privateKey, header, jkt }
  })
}

function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

function proof(key: ProofKey, htu: string): string {
  const payload = base64url({ jti: randomUUID(), htm: 'POST', htu, iat: Math.floor(Date.now() / 1000) })
  const input = `${key.header}.${payload}`
  const signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
  return `${input}.${signature.toString('base64url')}`
}

/** `size` proofs for `htu` (the token endpoint as the service's issuer names it), signed now. */
export function signProofPool(htu: string, size: number, keyCount: number): ProofPool {
  const keys = proofKeys(Math.max(1, keyCount))
  const started = performance.now()
  const proofs = Array.from({ length: size }, (_, i) => proof(keys[i % keys.length], htu))
  const signingSeconds = (performance.now() - started) / 1000
  let inLoop = 0
  return {
    size,
    signingSeconds,
    thumbprints: keys.map((key) => key.jkt),
    signedInLoop: () => inLoop,
    headersFor(n) {
      const pooled = proofs[n]
      if (pooled !== undefined) {
        // Each used once: dropped, so the pool's memory goes as the window goes.
        proofs[n] = ''
        return { dpop: pooled }
      }
      inLoop++
      return { dpop: proof(keys[n % keys.length], htu) }
    },
  }
}

/** The bearer target with a proof on each request. */
export function dpopTarget(bearer: LoadTarget, pool: ProofPool): LoadTarget {
  return { ...bearer, headersFor: (n) => pool.headersFor(n) }
}

/** How many proofs a window of `seconds` needs at most: the bearer rate, with room. */
export function poolSizeFor(bearerPerSecond: number, seconds: number, connections: number): number {
  return Math.ceil(bearerPerSecond * seconds * 1.25) + connections * 4
}
