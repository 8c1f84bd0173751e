import type { Config } from '../config.js'
import { DpopNonces, dpopNonceKey } from '../dpop/dpop-nonces.js'
import { DpopProofVerifier } from '../dpop/dpop-proof.js'
import type { Clock } from '../lib/clock.js'
import type { ReplayGuard } from '../replay/replay-guard.js'

export interface Dpop {
  verifier: DpopProofVerifier
  /** For proofs sent to the revocation endpoint with the token they prove (RFC 7009 by a bound token's holder). */
  revocationVerifier: DpopProofVerifier
  /** With `dpop.nonce: required`. */
  nonces?: DpopNonces
}

/**
 * DPoP at the token and revocation endpoints: proofs checked against the URL discovery advertises (built from
 * `issuer`, never from the request's Host or X-Forwarded-* headers, which a client or a proxy
 * chooses), their jti claimed in the replay record every instance shares, nonces keyed by a secret
 * every instance derives alike.
 */
export function openDpop(config: Config, replay: ReplayGuard, clock: Clock, sharedSecret: Buffer): Dpop {
  const nonces =
    config.dpop.nonce === 'required' ? new DpopNonces(dpopNonceKey(sharedSecret), config.dpop.nonceLifetimeSeconds, clock) : undefined
  const verifierFor = (endpoint: string) =>
    new DpopProofVerifier({
      algorithms: config.dpop.algorithms,
      windowSeconds: config.dpop.proofWindowSeconds,
      replay,
      clock,
      endpoint,
      ...(nonces ? { nonces } : {}),
    })
  return {
    verifier: verifierFor(`${config.issuer}/oauth2/token`),
    revocationVerifier: verifierFor(`${config.issuer}/oauth2/revoke`),
    ...(nonces ? { nonces } : {}),
  }
}
