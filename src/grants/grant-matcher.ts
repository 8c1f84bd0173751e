import type { AttestedIdentity } from '../attestors/attestor.js'
import { InvalidGrantError, InvalidRequestError, InvalidScopeError, InvalidTargetError } from '../errors.js'
import { globMatches } from '../lib/glob.js'
import { clipUntrusted } from '../lib/untrusted-text.js'
import type { Grant } from './grant.js'

export interface GrantDecision {
  audience: string
  scopes: string[]
  /** The grants that gave something to this token: recorded in the ledger, checked for revocation. */
  grantIds: string[]
  /** The least of the contributing grants' limits. */
  maxTtlSeconds: number
}

/**
 * Deny by default. A requested audience or scope outside the matching grants is refused, never
 * narrowed: the caller asked for something specific and must learn it was not granted.
 */
export function decide(
  identity: AttestedIdentity,
  grants: Grant[],
  now: Date,
  audience: string | undefined,
  requestedScopes: string[],
): GrantDecision {
  const matching = grants.filter((grant) => grantApplies(grant, identity, now))
  if (matching.length === 0) {
    throw new InvalidGrantError(`no grant allows ${identity.subject} to get a token`, 'not_granted')
  }

  const target = audience ?? onlyAudience(matching, identity.subject)
  const forAudience = matching.filter((grant) => grant.audiences.includes(target))
  if (forAudience.length === 0) {
    throw new InvalidTargetError(`audience "${clipUntrusted(target, 100)}" is not granted to ${identity.subject}`, 'audience_not_granted')
  }

  let scopes: string[]
  let contributing: Grant[]
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
  }
}

export function grantApplies(grant: Grant, identity: AttestedIdentity, now: Date): boolean {
  if (!grant.enabled || grant.expiresAt.getTime() <= now.getTime()) return false
  if (!globMatches(grant.subject, identity.subject)) return false
  return Object.entries(grant.conditions).every(([claim, expected]) => {
    // Only the attestation's own claims: never an inherited property such as `toString`, whose text
    // a glob could match.
    if (!Object.hasOwn(identity.claims, claim)) return false
    const actual = identity.claims[claim]
    if (typeof actual !== 'string') return false
    const globs = Array.isArray(expected) ? expected : [expected]
    return globs.some((glob) => globMatches(glob, actual))
  })
}

function onlyAudience(matching: Grant[], subject: string): string {
  const audiences = [...new Set(matching.flatMap((grant) => grant.audiences))]
  if (audiences.length === 1) return audiences[0]
  throw new InvalidRequestError(
    `the audience parameter is required: ${subject} is granted ${audiences.length} audiences`,
    'audience_required',
  )
}
