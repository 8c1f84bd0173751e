import type { AttestedIdentity } from '../attestors/attestor.js'
import { InvalidGrantError, InvalidRequestError, InvalidScopeError, InvalidTargetError } from '../errors.js'
import { clipUntrusted } from '../lib/untrusted-text.js'
import { inCreationOrder, type GrantRule } from './grant-rule.js'

export interface GrantDecision {
  audience: string
  scopes: string[]
  /** The grants that gave something to this token: recorded in the ledger, checked for revocation. */
  grantIds: string[]
  /** The least of the contributing grants' limits. */
  maxTtlSeconds: number
  /** Whether any contributing grant requires the token to be DPoP-bound. */
  requireDpop: boolean
}

/**
 * Deny by default. A requested audience or scope outside the matching grants is refused, never
 * narrowed: the caller asked for something specific and must learn it was not granted.
 *
 * `grants` may come in any order and include grants that do not apply (the index's candidates): the
 * ones that apply are put in creation order, the order a scan of the table would find them in, so
 * the scopes of a token are listed alike whichever way they were found. Sorting those few rather
 * than every candidate is what keeps a large table cheap.
 */
export function decide(
  identity: AttestedIdentity,
  grants: readonly GrantRule[],
  now: Date,
  audience: string | undefined,
  requestedScopes: string[],
): GrantDecision {
  const nowMs = now.getTime()
  const matching = grants.filter((grant) => grant.applies(identity, nowMs)).sort(inCreationOrder)
  if (matching.length === 0) {
    throw new InvalidGrantError(`no grant allows ${identity.subject} to get a token`, 'not_granted')
  }

  const target = audience ?? onlyAudience(matching, identity.subject)
  const forAudience = matching.filter((grant) => grant.audiences.includes(target))
  if (forAudience.length === 0) {
    throw new InvalidTargetError(`audience "${clipUntrusted(target, 100)}" is not granted to ${identity.subject}`, 'audience_not_granted')
  }

  let scopes: string[]
  let contributing: GrantRule[]
  if (requestedScopes.length === 0) {
    scopes = [...new Set(forAudience.flatMap((grant) => grant.scopes))]
    contributing = forAudience
  } else {
    const granted = new Set(forAudience.flatMap((grant) => grant.scopes))
    const refused = requestedScopes.filter((scope) => !granted.has(scope))
    if (refused.length > 0) {
      throw new InvalidScopeError(
        `scope ${refused.map((s) => `"${clipUntrusted(s, 100)}"`).join(', ')} is not granted to ${identity.subject} ` +
          `for audience "${clipUntrusted(target, 100)}"`,
        'scope_not_granted',
      )
    }
    scopes = requestedScopes
    contributing = forAudience.filter((grant) => grant.scopes.some((scope) => requestedScopes.includes(scope)))
  }

  return {
    audience: target,
    scopes,
    grantIds: contributing.map((grant) => grant.id).sort(),
    maxTtlSeconds: Math.min(...contributing.map((grant) => grant.maxTtlSeconds)),
    requireDpop: contributing.some((grant) => grant.requireDpop),
  }
}

function onlyAudience(matching: GrantRule[], subject: string): string {
  const audiences = [...new Set(matching.flatMap((grant) => grant.audiences))]
  if (audiences.length === 1) return audiences[0]
  throw new InvalidRequestError(
    `the audience parameter is required: ${subject} is granted ${audiences.length} audiences`,
    'audience_required',
  )
}
