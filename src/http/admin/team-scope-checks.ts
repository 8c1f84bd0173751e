import type { FastifyRequest } from 'fastify'
import { coversSubject, ownsGrant, type TeamScope } from '../../admin-tokens/team-scope.js'
import { ForbiddenError } from '../../errors.js'
import type { GrantStore } from '../../grants/grant-store.js'
import type { LedgerStore } from '../../ledger/ledger-store.js'
import type { RevocationTarget } from '../../revocation/revocation.js'

/**
 * What a team-scoped admin token may touch (src/admin-tokens/team-scope.ts), checked by the routes
 * that read or change grants, the ledger and revocations. A caller without a scope passes every check.
 */

/** The caller's team scope; null: unrestricted. */
export function scopeOf(request: FastifyRequest): TeamScope | null {
  return request.admin?.scope ?? null
}

/** Refuses a grant (as stored, or as it would be after a change) that the caller's team does not own. */
export function requireOwnedGrant(request: FastifyRequest, grant: { owner: string; subject: string }, what: string): void {
  const scope = scopeOf(request)
  if (scope === null || ownsGrant(scope, grant)) return
  throw outOfScope(request, scope, `${what} has owner ${grant.owner} and subject ${grant.subject}`)
}

/** Refuses an identity (to read) that does not lie under the caller's team prefixes. */
export function requireSubjectInScope(request: FastifyRequest, subject: string, what: string): void {
  const scope = scopeOf(request)
  if (scope === null || coversSubject(scope, subject)) return
  throw outOfScope(request, scope, `${what} ${subject} is not under its prefixes`)
}

/** Refuses a revocation target (to make, lift or read) the caller's team does not cover. */
export async function requireRevocationInScope(
  request: FastifyRequest,
  checker: RevocationScope,
  target: RevocationTarget,
  what: string,
): Promise<void> {
  const scope = scopeOf(request)
  if (scope === null || (await checker.covers(scope, target))) return
  const why =
    target.kind === 'source' || target.kind === 'key'
      ? `${what} is of a ${target.kind}, which spans every team: that needs an admin token without a scope`
      : target.kind === 'subject'
        ? `${what} is of subject ${target.value}, not under its prefixes`
        : target.kind === 'token'
          ? `${what} is of token ${target.value}, which the ledger does not show for an identity under its prefixes`
          : `${what} is of grant ${target.value}, which is not one of its grants`
  throw outOfScope(request, scope, why)
}

function outOfScope(request: FastifyRequest, scope: TeamScope, why: string): ForbiddenError {
  return new ForbiddenError(
    `the admin token ${request.admin?.name ?? 'unknown'} acts for owners ${scope.owners.join(', ')} and subjects under ` +
      `${scope.subjectPrefixes.join(', ')} (a prefix covers itself and what lies below it after a /): ${why}`,
    'out_of_team_scope',
  )
}

/**
 * Which revocations concern a team: those of a subject (an ID or a glob) under its prefixes, of a
 * token the ledger shows was issued to an identity under them, and of a grant it owns. Source and key
 * revocations span every team, and are not its to see or make.
 */
export class RevocationScope {
  constructor(
    private readonly grants: GrantStore,
    private readonly ledger: LedgerStore,
  ) {}

  async covers(scope: TeamScope, target: RevocationTarget): Promise<boolean> {
    switch (target.kind) {
      case 'subject':
        return coversSubject(scope, target.value)
      case 'token': {
        const entry = await this.ledger.get(target.value)
        return entry !== undefined && coversSubject(scope, entry.subject)
      }
      case 'grant': {
        const grant = await this.grants.get(target.value)
        return grant !== undefined && ownsGrant(scope, grant)
      }
      default:
        return false
    }
  }

  /** The revocations of `revocations` the caller may see, in order; all of them for an unrestricted caller. */
  async visible<R extends RevocationTarget>(request: FastifyRequest, revocations: readonly R[]): Promise<R[]> {
    const scope = scopeOf(request)
    if (scope === null) return [...revocations]
    const shown: R[] = []
    for (const revocation of revocations) if (await this.covers(scope, revocation)) shown.push(revocation)
    return shown
  }
}
