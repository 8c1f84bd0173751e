import type { JwsAlgorithm } from '../config.js'
import { InvalidGrantError, ServiceUnavailableError } from '../errors.js'
import { StaticKeySet } from '../attestors/jwks-key-set.js'
import { parseUntrustedJwt, signatureMatches } from '../attestors/jwt-verifier.js'
import type { KeyStore } from '../keys/key-store.js'
import type { LedgerStore } from '../ledger/ledger-store.js'
import type { Clock } from '../lib/clock.js'
import type { RevocationChecker } from '../revocation/revocation-cache.js'
import type { RevocationTarget } from '../revocation/revocation.js'

/** RFC 7662 section 2.2: `active`, and for an active token what it says. */
export type IntrospectionResult =
  | { active: false }
  | { active: true; iss: string; sub: string; aud: string; scope?: string; client_id: string; token_type: 'Bearer'; exp: number; iat: number; nbf: number; jti: string }

const OUR_ALGORITHMS: readonly JwsAlgorithm[] = ['ES256', 'EdDSA']
const MAX_TOKEN_BYTES = 8192

/**
 * Says whether one of our access tokens is active: signed by one of our keys, ours by issuer, not
 * expired, on the ledger, and not revoked (its jti, its subject, the grants it came from, the sources
 * of its attestation). Anything else is simply inactive; only revocation state that cannot be checked
 * is an error, so a resource server never mistakes "cannot tell" for "active".
 */
export class TokenIntrospection {
  /** Our own published keys: every key whose tokens may still be live. */
  private readonly keys: StaticKeySet

  constructor(
    private readonly issuer: string,
    keys: KeyStore,
    private readonly ledger: LedgerStore,
    private readonly revocations: RevocationChecker,
    private readonly clock: Clock,
  ) {
    this.keys = new StaticKeySet(issuer, keys.publicJwks(), 'the service keys')
  }

  async introspect(token: string): Promise<IntrospectionResult> {
    const claims = await this.verify(token)
    if (!claims) return { active: false }
    const entry = await this.ledger.get(claims.jti)
    if (!entry) return { active: false }
    const targets: RevocationTarget[] = [
      { kind: 'token', value: entry.jti },
      { kind: 'subject', value: entry.subject },
      ...entry.grantIds.map((id): RevocationTarget => ({ kind: 'grant', value: id })),
      ...entry.sources.map((id): RevocationTarget => ({ kind: 'source', value: id })),
    ]
    if (await this.revocations.findRevoked(targets)) return { active: false }
    return { active: true, ...claims, token_type: 'Bearer' }
  }

  private async verify(token: string) {
    try {
      const jwt = parseUntrustedJwt(token, MAX_TOKEN_BYTES)
      const { alg, kid, typ } = jwt.header
      if (typeof alg !== 'string' || !OUR_ALGORITHMS.includes(alg as JwsAlgorithm) || typ !== 'at+jwt' || typeof kid !== 'string') return undefined
      const key = await this.keys.resolve(alg as JwsAlgorithm, kid)
      if (!signatureMatches(alg as JwsAlgorithm, key, Buffer.from(jwt.signingInput, 'latin1'), Buffer.from(jwt.encodedSignature, 'base64url'))) return undefined
      const { iss, sub, aud, scope, client_id, exp, iat, nbf, jti } = jwt.payload
      const now = Math.floor(this.clock.now() / 1000)
      if (iss !== this.issuer || typeof sub !== 'string' || typeof aud !== 'string' || typeof client_id !== 'string' || typeof jti !== 'string') return undefined
      if (typeof exp !== 'number' || typeof iat !== 'number' || typeof nbf !== 'number' || exp <= now || nbf > now) return undefined
      return { iss, sub, aud, client_id, exp, iat, nbf, jti, ...(typeof scope === 'string' ? { scope } : {}) }
    } catch (error) {
      if (error instanceof ServiceUnavailableError) throw error
      if (error instanceof InvalidGrantError) return undefined
      throw error
    }
  }
}
