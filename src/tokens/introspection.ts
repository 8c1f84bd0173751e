import { InvalidGrantError, ServiceUnavailableError } from '../errors.js'
import type { JwsAlgorithm } from '../jose/algorithms.js'
import { parseUntrustedJwt } from '../jose/compact-jws.js'
import { signatureMatches } from '../jose/jwt-verifier.js'
import type { KeyRing } from '../keys/key-ring.js'
import type { LedgerEntry, LedgerStore } from '../ledger/ledger-store.js'
import type { Clock } from '../lib/clock.js'
import type { Logger } from 'pino'
import type { RevocationChecker } from '../revocation/revocation-cache.js'
import type { RevocationTarget } from '../revocation/revocation.js'
import type { SourceHasher } from './source-hash.js'
import type { ActorClaim } from './access-token.js'
import { actorsOf, grantsClaimOf } from './actor-chain.js'

/** RFC 7662 section 2.2: `active`, and for an active token what it says. */
export type IntrospectionResult =
  | { active: false }
  | {
      active: true
      iss: string
      sub: string
      aud: string
      scope?: string
      client_id: string
      /** `DPoP` for a token bound to a key (RFC 9449 section 6.2), which then has `cnf`. */
      token_type: 'Bearer' | 'DPoP'
      cnf?: { jkt: string }
      exp: number
      iat: number
      nbf: number
      jti: string
      /** Absent only from tokens minted before tokens carried them. */
      grants?: string[]
      src_h?: string[]
      /** The delegation chain (RFC 8693 section 4.1), when somebody acts for `sub`. */
      act?: ActorClaim
      /** The tokens it was exchanged from, directly or not. */
      ancestor_jtis?: string[]
    }

/** What `verifyAsIssued` vouches for: the token's claims, agreeing with the ledger entry written when it was issued. */
export interface VerifiedAccessToken {
  claims: {
    iss: string
    sub: string
    aud: string
    client_id: string
    exp: number
    iat: number
    nbf: number
    jti: string
    kid: string
    scope?: string
    grants?: string[]
    src_h?: string[]
    /** The key it is bound to (RFC 9449 section 6.1), as the token says and its ledger entry agrees. */
    cnf?: { jkt: string }
    act?: ActorClaim
    ancestor_jtis?: string[]
  }
  entry: LedgerEntry
  /** Present when the token is bound to a key (`cnf.jkt`, RFC 9449): its holder must also prove that key. */
  confirmation?: { jkt: string }
}

const OUR_ALGORITHMS: readonly JwsAlgorithm[] = ['ES256', 'EdDSA']
const MAX_TOKEN_BYTES = 8192

/**
 * Says whether one of our access tokens is active: signed by one of our keys, ours by issuer, not
 * expired, on the ledger with the same subject, audience, scope, expiry and issue time, and not
 * revoked (its jti, its subject, the grants it came from, the sources of its attestation). The answer
 * comes from the ledger, not from the token: a token whose claims differ from what we recorded when we
 * issued it was not issued by us as it stands (a leaked signing key, or a bug), and is inactive.
 * Anything else is simply inactive; only revocation state that cannot be checked is an error, so a
 * resource server never mistakes "cannot tell" for "active".
 */
export class TokenIntrospection {
  constructor(
    private readonly issuer: string,
    /** Our own published keys, as this instance's key ring has them: every key whose tokens may still be live. */
    private readonly keys: Pick<KeyRing, 'verificationKey'>,
    private readonly ledger: LedgerStore,
    private readonly revocations: RevocationChecker,
    private readonly clock: Clock,
    private readonly logger: Pick<Logger, 'warn'>,
    /** To check the token's `src_h` against the sources on its ledger entry. */
    private readonly sourceHasher: SourceHasher,
  ) {}

  async introspect(token: string): Promise<IntrospectionResult> {
    const verified = await this.verifyActive(token)
    if (!verified) return { active: false }
    const { kid: _kid, ...answer } = verified.claims
    return { active: true, ...answer, token_type: answer.cnf === undefined ? 'Bearer' : 'DPoP' }
  }

  /**
   * One of our tokens as we issued it and not revoked: what introspection answers active, and what a
   * token exchange accepts as a `subject_token` or `actor_token` of ours.
   */
  async verifyActive(token: string): Promise<VerifiedAccessToken | undefined> {
    const verified = await this.verifyAsIssued(token)
    if (!verified) return undefined
    return (await this.revocations.findRevoked(revocationTargetsOf(verified))) ? undefined : verified
  }

  /**
   * One of our tokens as we issued it, revoked or not: what introspection checks before revocations,
   * and what a holder revoking it (RFC 7009) must present. Undefined for anything else (malformed,
   * another issuer or key, expired, not on the ledger, disagreeing with its ledger entry).
   */
  async verifyAsIssued(token: string): Promise<VerifiedAccessToken | undefined> {
    const verified = await this.verify(token)
    if (!verified) return undefined
    const claims = verified
    const entry = await this.ledger.get(claims.jti)
    if (!entry) return undefined
    const disagreeing = disagreements(claims, entry, this.sourceHasher)
    if (disagreeing.length > 0) {
      // Only our signing key makes a token that verifies: this one was signed with it but not as we
      // issued it. Worth a responder's attention; the token itself is never logged.
      this.logger.warn(
        { jti: claims.jti, kid: claims.kid, disagreeing },
        'introspected token disagrees with its ledger entry: answered inactive',
      )
      return undefined
    }
    return { claims, entry, ...(claims.cnf ? { confirmation: claims.cnf } : {}) }
  }

  private async verify(token: string) {
    try {
      const jwt = parseUntrustedJwt(token, MAX_TOKEN_BYTES)
      const { alg, kid, typ } = jwt.header
      if (typeof alg !== 'string' || !OUR_ALGORITHMS.includes(alg as JwsAlgorithm) || typ !== 'at+jwt' || typeof kid !== 'string')
        return undefined
      // Throws ServiceUnavailableError when this instance's copy of the keys is stale: "cannot tell", not "inactive".
      const key = this.keys.verificationKey(kid)
      if (key === undefined || key.alg !== alg) return undefined
      const signature = Buffer.from(jwt.encodedSignature, 'base64url')
      if (!signatureMatches(alg as JwsAlgorithm, key.key, Buffer.from(jwt.signingInput, 'latin1'), signature)) return undefined
      const { iss, sub, aud, scope, client_id, exp, iat, nbf, jti, grants, src_h, cnf, act, ancestor_jtis } = jwt.payload
      const now = Math.floor(this.clock.now() / 1000)
      if (
        iss !== this.issuer ||
        typeof sub !== 'string' ||
        typeof aud !== 'string' ||
        typeof client_id !== 'string' ||
        typeof jti !== 'string'
      )
        return undefined
      if (typeof exp !== 'number' || typeof iat !== 'number' || typeof nbf !== 'number' || exp <= now || nbf > now || iat > now)
        return undefined
      if (scope !== undefined && typeof scope !== 'string') return undefined
      if ((grants !== undefined && !isStringArray(grants)) || (src_h !== undefined && !isStringArray(src_h))) return undefined
      const confirmation = confirmationOf(cnf)
      // A binding we cannot read is not one we made: the token is not ours as it stands.
      if (confirmation === null) return undefined
      // The same for a delegation chain or an ancestry we could not have written.
      if (actorsOf(act) === null || (ancestor_jtis !== undefined && !isStringArray(ancestor_jtis))) return undefined
      return {
        iss,
        sub,
        aud,
        client_id,
        exp,
        iat,
        nbf,
        jti,
        kid,
        ...(typeof scope === 'string' ? { scope } : {}),
        ...(grants === undefined ? {} : { grants }),
        ...(src_h === undefined ? {} : { src_h }),
        ...(confirmation ? { cnf: confirmation } : {}),
        ...(act === undefined ? {} : { act: act as ActorClaim }),
        ...(ancestor_jtis === undefined ? {} : { ancestor_jtis }),
      }
    } catch (error) {
      if (error instanceof ServiceUnavailableError) throw error
      if (error instanceof InvalidGrantError) return undefined
      throw error
    }
  }
}

/**
 * What revokes a token: the key that signed it (a revoked key's tokens are refused even before every
 * instance has dropped the key itself), its jti, its subject, the grants it came from, its sources,
 * every identity acting in its delegation chain, where those run, and every token it was exchanged from. Taken from the
 * ledger entry, which the token's claims were checked to agree with.
 */
function revocationTargetsOf({ claims, entry }: VerifiedAccessToken): RevocationTarget[] {
  return [
    { kind: 'key', value: claims.kid },
    { kind: 'token', value: entry.jti },
    { kind: 'subject', value: entry.subject },
    ...(entry.actors ?? []).map((actor): RevocationTarget => ({ kind: 'subject', value: actor })),
    ...(entry.ancestorJtis ?? []).map((jti): RevocationTarget => ({ kind: 'token', value: jti })),
    ...entry.grantIds.map((id): RevocationTarget => ({ kind: 'grant', value: id })),
    ...entry.sources.map((id): RevocationTarget => ({ kind: 'source', value: id })),
    ...(entry.actorSources ?? []).map((id): RevocationTarget => ({ kind: 'source', value: id })),
    ...(entry.actorGrantIds ?? []).map((id): RevocationTarget => ({ kind: 'grant', value: id })),
  ]
}

/** The key a token is bound to (RFC 9449 section 6.1): undefined when unbound, null when `cnf` is not one we could have written. */
function confirmationOf(cnf: unknown): { jkt: string } | undefined | null {
  if (cnf === undefined) return undefined
  if (typeof cnf !== 'object' || cnf === null || Array.isArray(cnf)) return null
  const { jkt } = cnf as Record<string, unknown>
  // Exactly one member, as we write it: anything more is not a binding we made.
  return Object.keys(cnf).length === 1 && typeof jkt === 'string' && /^[A-Za-z0-9_-]{43}$/.test(jkt) ? { jkt } : null
}

/**
 * The claims that differ from the ledger entry written when the token was issued. `grants` and `src_h`
 * are what resource servers decide grant and source revocations on, offline: a token that lies about
 * them would escape those revocations there. Tokens minted before they existed lack them.
 */
function disagreements(
  claims: {
    sub: string
    aud: string
    scope?: string
    exp: number
    iat: number
    client_id: string
    grants?: string[]
    src_h?: string[]
    cnf?: { jkt: string }
    act?: ActorClaim
    ancestor_jtis?: string[]
  },
  entry: LedgerEntry,
  hasher: SourceHasher,
): string[] {
  const expected = {
    sub: entry.subject,
    aud: entry.audience,
    // As src/exchange/token-exchange.ts writes it: space-separated, left out when nothing was granted.
    scope: entry.scopes.length > 0 ? entry.scopes.join(' ') : undefined,
    exp: Math.floor(entry.expiresAt.getTime() / 1000),
    iat: Math.floor(entry.issuedAt.getTime() / 1000),
    client_id: entry.subject,
  }
  const differing: string[] = (Object.keys(expected) as Array<keyof typeof expected>).filter((name) => claims[name] !== expected[name])
  if (claims.grants !== undefined && !sameList(claims.grants, grantsClaimOf(entry.grantIds, entry.actorGrantIds ?? [])))
    differing.push('grants')
  if (
    claims.src_h !== undefined &&
    !sameList(
      claims.src_h,
      [...entry.sources, ...(entry.actorSources ?? [])].map((source) => hasher.hash(source)),
    )
  )
    differing.push('src_h')
  // The key the token was bound to when issued: a token that names another (or drops it) is not ours as it stands.
  if (claims.cnf?.jkt !== entry.jkt) differing.push('cnf')
  // Who acts for the subject, and what the token dies with: a token that drops either would outlive
  // the revocation of an actor or of a token it came from.
  if (!sameList(actorsOf(claims.act) ?? [], entry.actors ?? [])) differing.push('act')
  if (!sameList(claims.ancestor_jtis ?? [], entry.ancestorJtis ?? [])) differing.push('ancestor_jtis')
  return differing
}

/** As src/exchange/token-exchange.ts writes them: the same values in the same order. */
function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i])
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string')
}
