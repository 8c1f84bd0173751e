import { InvalidGrantError, InvalidScopeError, InvalidTargetError } from '../errors.js'
import type { GrantDecision } from '../grants/grant-matcher.js'
import type { GrantRule } from '../grants/grant-rule.js'
import { clipUntrusted } from '../lib/untrusted-text.js'
import type { VerifiedAccessToken } from '../tokens/introspection.js'

/** The active grants by id (src/grants/grant-catalog.ts): fails closed, as matching does, when its copy is stale. */
export interface ActiveGrants {
  activeGrant(id: string): GrantRule | undefined
}

export interface NarrowedDecision extends GrantDecision {
  /** The grants the parent came from, as they stand now. */
  grants: GrantRule[]
}

/**
 * What a token exchanged from one of our tokens (its parent) may carry: the parent's audience, never
 * another (a resource server holding a caller's token must not mint tokens as that caller for other
 * services); scopes among the parent's (all of them when none are asked for); a lifetime within what
 * the parent has left and what its grants allow now. Asking for more is refused, never trimmed, like
 * any request for what was not granted.
 *
 * The grants the parent came from must all still be active: disabling or deleting a grant stops new
 * tokens from it, narrower ones included. They stay the token's `grants`, so revoking any of them
 * revokes it too.
 */
export function narrowedDecision(
  parent: VerifiedAccessToken,
  grants: ActiveGrants,
  audience: string | undefined,
  requestedScopes: readonly string[],
  nowSeconds: number,
): NarrowedDecision {
  const { entry } = parent
  if (audience !== undefined && audience !== entry.audience) {
    throw new InvalidTargetError(
      `a token exchanged from an access token keeps its audience "${entry.audience}"; "${clipUntrusted(audience, 100)}" was asked for`,
      'audience_widened',
    )
  }
  const widened = requestedScopes.filter((scope) => !entry.scopes.includes(scope))
  if (widened.length > 0) {
    throw new InvalidScopeError(
      `scope ${widened.map((s) => `"${clipUntrusted(s, 100)}"`).join(', ')} is not in the subject_token: ` +
        'a token exchanged from an access token can only narrow its scopes',
      'scope_widened',
    )
  }
  const rules = activeGrantsOf(entry.grantIds, grants, 'subject_token')
  // The grants of the actor tokens behind it too: disabling one stops what that actor got on others' behalf.
  activeGrantsOf(entry.actorGrantIds ?? [], grants, 'subject_token')
  const scopes = requestedScopes.length > 0 ? [...requestedScopes] : [...entry.scopes]
  ensureStillGranted(rules, entry.audience, scopes, entry.subject)
  return {
    audience: entry.audience,
    scopes,
    grantIds: [...entry.grantIds],
    maxTtlSeconds: Math.min(lifeLeft(parent, nowSeconds, 'subject_token'), ...rules.map((rule) => rule.maxTtlSeconds)),
    requireDpop: rules.some((rule) => rule.requireDpop),
    grants: rules,
  }
}

/**
 * The grants a token of ours came from, as they stand now; each must still be active: disabling or
 * deleting a grant stops new tokens from it, those made from its tokens included.
 */
export function activeGrantsOf(ids: readonly string[], grants: ActiveGrants, parameter: 'subject_token' | 'actor_token'): GrantRule[] {
  return ids.map((id) => {
    const rule = grants.activeGrant(id)
    if (rule === undefined)
      throw new InvalidGrantError(`grant ${id}, which the ${parameter} came from, is no longer active`, 'grant_inactive')
    return rule
  })
}

/**
 * How long a token of ours has left, in whole seconds. It was checked unexpired when verified, but a
 * second may have passed since: a token with nothing left gives nothing, not a token born expired.
 */
export function lifeLeft(token: VerifiedAccessToken, nowSeconds: number, parameter: 'subject_token' | 'actor_token'): number {
  const left = token.claims.exp - nowSeconds
  if (left < 1) throw new InvalidGrantError(`${parameter} has expired`, 'token_inactive')
  return left
}

/**
 * A grant edited since the parent was issued (not disabled) may give less now: an audience or scope
 * the parent's grants no longer give is refused, as any not granted is, never given again.
 */
function ensureStillGranted(rules: readonly GrantRule[], audience: string, scopes: string[], subject: string): void {
  const forAudience = rules.filter((rule) => rule.audiences.includes(audience))
  if (rules.length > 0 && forAudience.length === 0) {
    throw new InvalidTargetError(`audience "${audience}" is no longer granted to ${subject}`, 'audience_not_granted')
  }
  const granted = new Set(forAudience.flatMap((rule) => rule.scopes))
  const dropped = scopes.filter((scope) => !granted.has(scope))
  if (dropped.length > 0) {
    throw new InvalidScopeError(
      `scope ${dropped.map((s) => `"${s}"`).join(', ')} is no longer granted to ${subject} for audience "${audience}"`,
      'scope_not_granted',
    )
  }
}
