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
  const { entry, claims } = parent
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
  const rules = entry.grantIds.map((id) => {
    const rule = grants.activeGrant(id)
    if (rule === undefined)
      throw new InvalidGrantError(`grant ${id}, which the subject_token came from, is no longer active`, 'grant_inactive')
    return rule
  })
  return {
    audience: entry.audience,
    scopes: requestedScopes.length > 0 ? [...requestedScopes] : [...entry.scopes],
    grantIds: [...entry.grantIds],
    maxTtlSeconds: Math.min(claims.exp - nowSeconds, ...rules.map((rule) => rule.maxTtlSeconds)),
    requireDpop: rules.some((rule) => rule.requireDpop),
    grants: rules,
  }
}
