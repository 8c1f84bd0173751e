import { InvalidRequestError } from '../errors.js'
import type { GrantDecision } from '../grants/grant-matcher.js'
import { uuidV7 } from '../lib/uuid-v7.js'
import type { AccessTokenClaims } from '../tokens/access-token.js'
import { actClaimOf, grantsClaimOf } from '../tokens/actor-chain.js'
import type { SourceHasher } from '../tokens/source-hash.js'
import type { Lineage } from './lineage.js'

export interface ClaimsContext {
  issuer: string
  /** tokens.maxTtlSeconds */
  maxTtlSeconds: number
  sourceHasher: SourceHasher
}

export interface Lifetime {
  /** tokens.defaultTtlSeconds */
  defaultTtlSeconds: number
  /** `expires_in`, when asked for. */
  requestedSeconds?: number
}

/**
 * The claims of the token to issue (RFC 9068, and RFC 8693 `act`), as of `nowMillis`. Refuses a
 * requested lifetime longer than the grants, the server cap and what the token came from allow.
 */
export function claimsFor(
  context: ClaimsContext,
  subject: string,
  decision: GrantDecision,
  lineage: Lineage,
  nowMillis: number,
  lifetime: Lifetime,
): AccessTokenClaims {
  const iat = Math.floor(nowMillis / 1000)
  const allowed = Math.min(decision.maxTtlSeconds, context.maxTtlSeconds)
  const requested = lifetime.requestedSeconds
  if (requested !== undefined && requested > allowed) {
    throw new InvalidRequestError(
      `expires_in ${requested} is longer than the ${allowed} seconds allowed for this token`,
      'requested_lifetime_too_long',
    )
  }
  const ttl = requested ?? Math.min(lifetime.defaultTtlSeconds, allowed)
  const claims: AccessTokenClaims = {
    iss: context.issuer,
    sub: subject,
    aud: decision.audience,
    exp: iat + ttl,
    iat,
    nbf: iat,
    // Time-ordered: the jti names the ledger partition its entry is in (src/ledger/ledger-tables.ts).
    jti: uuidV7(nowMillis),
    // The workload is its own client: no separate client registration in a token exchange.
    client_id: subject,
    // What grant and source revocations name, so a resource server decides them without the ledger.
    grants: grantsClaimOf(decision.grantIds, lineage.actorGrantIds),
    src_h: [...lineage.sources, ...lineage.actorSources].map((source) => context.sourceHasher.hash(source)),
  }
  if (decision.scopes.length > 0) claims.scope = decision.scopes.join(' ')
  const act = actClaimOf(lineage.actors)
  if (act !== undefined) claims.act = act
  if (lineage.ancestorJtis.length > 0) claims.ancestor_jtis = [...lineage.ancestorJtis]
  return claims
}
