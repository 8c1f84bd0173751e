import { ownsGrant, type TeamScope } from '../admin-tokens/team-scope.js'
import type { Grant } from '../grants/grant.js'
import type { GrantStore } from '../grants/grant-store.js'
import { grantsBreakingGuardrails } from '../grants/guardrails/existing-grants.js'
import type { Guardrails } from '../grants/guardrails/guardrails.js'
import type { Clock } from '../lib/clock.js'
import { isGlob } from '../lib/glob.js'
import type { GrantUsageReader } from './grant-usage.js'
import {
  DAY_MS,
  grantFindings,
  MAX_SPLIT_SUBJECTS,
  staleIdentityFinding,
  tightening,
  usageOf,
  type Finding,
  type GrantUsage,
  type LeastPrivilegeReport,
} from './least-privilege.js'

/** Identities last seen before the window that the report lists at most. */
export const MAX_STALE_IDENTITIES = 500

/** Grants whose roll-ups are read per query. */
const CHUNK = 500

export interface ReportRequest {
  /** The window: what was used in the last `days` days counts as used. */
  days: number
  expiringWithinDays: number
  /** A team's token sees its grants and its identities only; null: everything. */
  scope: TeamScope | null
}

/**
 * The least-privilege report: the live grants (enabled, not expired) a caller may see, what each gave
 * in the window, and what to change. It reads the grants and the inventory's roll-ups, never the
 * ledger, so its cost follows the number of grants and identities, not of tokens.
 *
 * @example
 * const report = await reporter.report({ days: 30, expiringWithinDays: 14, scope: null })
 */
export class LeastPrivilegeReporter {
  constructor(
    private readonly grants: GrantStore,
    private readonly usage: GrantUsageReader,
    /** As now configured: a reload may change them. */
    private readonly guardrails: () => Guardrails,
    private readonly clock: Clock,
  ) {}

  async report(request: ReportRequest): Promise<LeastPrivilegeReport> {
    const now = new Date(this.clock.now())
    const since = new Date(now.getTime() - request.days * DAY_MS)
    const live = await this.liveGrants(request.scope, now)
    const usages: GrantUsage[] = []
    const findings: Finding[] = []
    const ownersWithTokens = await this.usage.ownersWithLiveAdminTokens(now)
    const broken = new Map((await grantsBreakingGuardrails(this.grants, this.guardrails(), now)).map((b) => [b.grant.id, b.findings]))
    for (let at = 0; at < live.length; at += CHUNK) {
      const chunk = live.slice(at, at + CHUNK)
      const ids = chunk.map((grant) => grant.id)
      const access = groupByGrant(await this.usage.accessOf(ids))
      const identities = await this.usage.identitiesSince(ids, since)
      const globs = chunk.filter((grant) => isGlob(grant.subject)).map((grant) => grant.id)
      const bySubject = groupByGrant(await this.usage.subjectAccessSince(globs, since, MAX_SPLIT_SUBJECTS))
      for (const grant of chunk) {
        const usage = usageOf(grant, access.get(grant.id) ?? [], since, identities.get(grant.id) ?? 0)
        usages.push(usage)
        const tighten = tightening(usage, since, bySubject.get(grant.id))
        if (tighten !== undefined) findings.push(tighten)
        findings.push(...grantFindings(grant, now, request.expiringWithinDays, ownersWithTokens, broken.get(grant.id) ?? []))
      }
    }
    const stale = await this.usage.staleIdentities(since, MAX_STALE_IDENTITIES + 1, request.scope?.subjectPrefixes)
    findings.push(...stale.slice(0, MAX_STALE_IDENTITIES).map(staleIdentityFinding))
    return {
      generatedAt: now,
      days: request.days,
      expiringWithinDays: request.expiringWithinDays,
      since,
      grants: usages,
      findings,
      staleIdentitiesTruncated: stale.length > MAX_STALE_IDENTITIES,
    }
  }

  /** Enabled and not expired at `now`, in creation order; a team's own only. */
  private async liveGrants(scope: TeamScope | null, now: Date): Promise<Grant[]> {
    const live: Grant[] = []
    let cursor: string | undefined
    do {
      const page = await this.grants.list({
        limit: 500,
        ...(cursor === undefined ? {} : { cursor }),
        ...(scope === null ? {} : { owners: scope.owners, subjectPrefixes: scope.subjectPrefixes }),
      })
      for (const grant of page.items) {
        if (grant.enabled && grant.expiresAt.getTime() > now.getTime() && (scope === null || ownsGrant(scope, grant))) live.push(grant)
      }
      cursor = page.nextCursor
    } while (cursor !== undefined)
    return live
  }
}

function groupByGrant<Row extends { grantId: string }>(rows: readonly Row[]): Map<string, Row[]> {
  const groups = new Map<string, Row[]>()
  for (const row of rows) {
    const group = groups.get(row.grantId)
    if (group === undefined) groups.set(row.grantId, [row])
    else group.push(row)
  }
  return groups
}
