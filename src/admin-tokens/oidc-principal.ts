import { claimAt } from '../attestors/oidc/claims.js'
import { ForbiddenError, UnauthenticatedError } from '../errors.js'
import type { JwtPayload } from '../jose/jwt-verifier.js'
import { SCOPABLE_ROLES, type AdminIdentity, type AdminRole } from './admin-token.js'
import type { AdminOidcConfig } from './oidc-config.js'
import { normalScope, type TeamScope } from './team-scope.js'

/** What the audit log prefixes a person's name with: no admin token name has a colon, so the two never collide. */
export const OIDC_ACTOR_PREFIX = 'oidc:'

// Printable and bounded: the name reaches the audit log and refusals.
const NAME = /^[\x21-\x7E\u00A0-\uFFFF][\x20-\x7E\u00A0-\uFFFF]{0,255}$/

/**
 * Who a verified token of the identity provider stands for, from its claims (trusted: the signature,
 * issuer, audience and lifetime are checked before this is called). Roles are the union of those of its
 * mapped groups. A group never lends its roles beyond the scope it grants them in:
 * - only unrestricted groups: unrestricted, with their roles;
 * - only teams' groups: the union of their teams (owners and prefixes), with their roles;
 * - both: by `mixedGroups`, its teams with every role of its groups that a scoped principal may hold
 *   (`teams`, the default), or unrestricted with the roles of its unrestricted groups (`unrestricted`).
 *
 * @example
 * principalOf({ sub: 'alice', groups: ['pay-team'], exp }, config) // { name: 'oidc:alice', roles, scope }
 */
export function principalOf(payload: JwtPayload, config: AdminOidcConfig): AdminIdentity {
  const name = nameOf(payload, config.nameClaim)
  const groups = groupsOf(payload, config.groupsClaim)
  const mapped = groups.filter((group) => Object.hasOwn(config.groups, group)).map((group) => config.groups[group])
  if (mapped.length === 0) {
    throw new ForbiddenError(
      `${name} signed in, but none of its ${groups.length} groups (claim ${config.groupsClaim}) is mapped to roles in admin.oidc.groups`,
      'oidc_groups_unmapped',
    )
  }
  const unrestricted = mapped.filter((group) => group.scope === undefined)
  const teams = mapped.filter((group) => group.scope !== undefined)
  if (teams.length === 0 || (unrestricted.length > 0 && config.mixedGroups === 'unrestricted'))
    return { name, roles: new Set(unrestricted.flatMap((group) => group.roles)), scope: null }
  const scopable: readonly AdminRole[] = SCOPABLE_ROLES
  const roles = mapped.flatMap((group) => group.roles).filter((role) => scopable.includes(role))
  return { name, roles: new Set(roles), scope: unionOf(teams.map((group) => group.scope!)) }
}

function unionOf(scopes: readonly TeamScope[]): TeamScope {
  return normalScope({ owners: scopes.flatMap((s) => s.owners), subjectPrefixes: scopes.flatMap((s) => s.subjectPrefixes) })
}

function nameOf(payload: JwtPayload, claim: string): string {
  const value = claimAt(payload, claim)
  if (typeof value !== 'string' || !NAME.test(value))
    throw new UnauthenticatedError(
      `the identity provider's token has no usable name claim ${claim} (a string of 1 to 256 printable characters)`,
      'oidc_token_invalid',
    )
  return `${OIDC_ACTOR_PREFIX}${value}`
}

/** The groups claim as a list; absent is no group. Anything else than a string or a list of strings is refused, not ignored. */
function groupsOf(payload: JwtPayload, claim: string): string[] {
  const value = claimAt(payload, claim)
  if (value === undefined) return []
  if (typeof value === 'string') return [value]
  if (Array.isArray(value) && value.every((group) => typeof group === 'string')) return value
  throw new UnauthenticatedError(
    `the identity provider's token has a groups claim ${claim} that is neither a string nor a list of strings`,
    'oidc_token_invalid',
  )
}
