import type { Grant } from '../grants/grant.js'
import type { GuardrailFinding } from '../grants/guardrails/guardrails.js'
import { isGlob } from '../lib/glob.js'
import { disabling, narrowing, splitOff, type GrantChange } from './grant-changes.js'
import type { GrantAccessUse, StaleIdentity, SubjectAccessUse } from './grant-usage.js'

/**
 * Granted versus used (README.md, "Least privilege"): what each grant gave in the window, what it
 * did not, and the change that would take away only what went unused. Pure: the reporter
 * (src/reports/least-privilege-report.ts) reads the grants and the roll-ups and hands them here.
 */

/** A glob is split into grants of their own for the identities it served when they are this many or fewer. */
export const MAX_SPLIT_SUBJECTS = 20

/** What a grant gave and when, attributed: only its own audiences, and only its own scopes for them. */
export interface GrantUsage {
  grant: Grant
  /** Its latest use, ever (as far back as the roll-ups go); undefined if never. */
  lastUsed: Date | undefined
  /** Each of its audiences, in its order, with its latest use. */
  audiences: { audience: string; lastUsed: Date | undefined }[]
  /** Each of its scopes, in its order, with its latest use (for any of its audiences). */
  scopes: { scope: string; lastUsed: Date | undefined }[]
  /** Its audiences and scopes not used at or after the window's start (never used ones included). */
  unusedAudiences: string[]
  unusedScopes: string[]
  /** How many identities it served in the window. */
  identities: number
}

interface GrantRef {
  grantId: string
  owner: string
  subject: string
}

export type Finding =
  | (GrantRef & { kind: 'unused-grant'; lastUsed: Date | undefined; changes: GrantChange[] })
  | (GrantRef & { kind: 'unused-access'; unusedAudiences: string[]; unusedScopes: string[]; changes: GrantChange[] })
  | (GrantRef & { kind: 'split-grant'; subjects: string[]; unusedAudiences: string[]; unusedScopes: string[]; changes: GrantChange[] })
  | (GrantRef & { kind: 'expiring-grant'; expiresAt: Date })
  | (GrantRef & { kind: 'ownerless-grant' })
  | (GrantRef & { kind: 'guardrail'; rules: GuardrailFinding[] })
  | { kind: 'stale-identity'; subject: string; attestor: string; lastSeen: Date }

export interface LeastPrivilegeReport {
  generatedAt: Date
  days: number
  expiringWithinDays: number
  /** The window's start: `days` before `generatedAt`. */
  since: Date
  grants: GrantUsage[]
  findings: Finding[]
  /** More identities were last seen before `since` than the report lists. */
  staleIdentitiesTruncated: boolean
}

/** A grant's roll-up rows, attributed to it: rows of audiences it does not hold (any more), or scopes it does not hold, are another grant's. */
export function usageOf(grant: Grant, access: readonly GrantAccessUse[], since: Date, identities: number): GrantUsage {
  const audienceUse = new Map<string, Date>()
  const scopeUse = new Map<string, Date>()
  for (const row of access) {
    if (row.grantId !== grant.id || !grant.audiences.includes(row.audience)) continue
    if (row.scope === undefined) latest(audienceUse, row.audience, row.lastUsed)
    else if (grant.scopes.includes(row.scope)) latest(scopeUse, row.scope, row.lastUsed)
  }
  const audiences = grant.audiences.map((audience) => ({ audience, lastUsed: audienceUse.get(audience) }))
  const scopes = grant.scopes.map((scope) => ({ scope, lastUsed: scopeUse.get(scope) }))
  const uses = [...audienceUse.values()].map((at) => at.getTime())
  return {
    grant,
    lastUsed: uses.length === 0 ? undefined : new Date(Math.max(...uses)),
    audiences,
    scopes,
    unusedAudiences: audiences.filter((a) => !usedSince(a.lastUsed, since)).map((a) => a.audience),
    unusedScopes: scopes.filter((s) => !usedSince(s.lastUsed, since)).map((s) => s.scope),
    identities,
  }
}

/**
 * The change that takes away what a grant did not give in the window, if any:
 * - unused all the window long (and older than it, so a new grant has its chance): disable it;
 * - a glob that served at most MAX_SPLIT_SUBJECTS identities: a grant for each, with what that
 *   identity used, then the glob disabled (the new grants first, so no identity is ever without);
 * - else, audiences or scopes unused: the grant without them.
 * `subjects` is what each identity used of it in the window, undefined when they were too many.
 */
export function tightening(usage: GrantUsage, since: Date, subjects: readonly SubjectAccessUse[] | undefined): Finding | undefined {
  const { grant, unusedAudiences, unusedScopes } = usage
  const ref: GrantRef = { grantId: grant.id, owner: grant.owner, subject: grant.subject }
  if (!usedSince(usage.lastUsed, since)) {
    if (grant.createdAt.getTime() >= since.getTime()) return undefined
    return { ...ref, kind: 'unused-grant', lastUsed: usage.lastUsed, changes: [disabling(grant)] }
  }
  if (isGlob(grant.subject) && subjects !== undefined) {
    const split = splitBySubject(grant, subjects)
    if (split.size > 0 && split.size <= MAX_SPLIT_SUBJECTS) {
      const changes = [...split].map(([subject, used]) => splitOff(grant, subject, used.audiences, used.scopes))
      return {
        ...ref,
        kind: 'split-grant',
        subjects: [...split.keys()],
        unusedAudiences,
        unusedScopes,
        changes: [...changes, disabling(grant)],
      }
    }
  }
  if (unusedAudiences.length + unusedScopes.length === 0) return undefined
  const audiences = grant.audiences.filter((audience) => !unusedAudiences.includes(audience))
  const scopes = grant.scopes.filter((scope) => !unusedScopes.includes(scope))
  return { ...ref, kind: 'unused-access', unusedAudiences, unusedScopes, changes: [narrowing(grant, audiences, scopes)] }
}

/** The live grants expiring within `within` days of `now`, the grants of owners without a live admin token, the guardrails broken. */
export function grantFindings(
  grant: Grant,
  now: Date,
  expiringWithinDays: number,
  ownersWithTokens: ReadonlySet<string>,
  rules: readonly GuardrailFinding[],
): Finding[] {
  const ref: GrantRef = { grantId: grant.id, owner: grant.owner, subject: grant.subject }
  const findings: Finding[] = []
  if (grant.expiresAt.getTime() <= now.getTime() + expiringWithinDays * DAY_MS)
    findings.push({ ...ref, kind: 'expiring-grant', expiresAt: grant.expiresAt })
  if (!ownersWithTokens.has(grant.owner)) findings.push({ ...ref, kind: 'ownerless-grant' })
  if (rules.length > 0) findings.push({ ...ref, kind: 'guardrail', rules: [...rules] })
  return findings
}

export function staleIdentityFinding(identity: StaleIdentity): Finding {
  return { kind: 'stale-identity', subject: identity.subject, attestor: identity.attestor, lastSeen: identity.lastSeen }
}

export const DAY_MS = 86_400_000

/** Each identity's audiences and scopes of the grant (its own only), in the grant's order. */
function splitBySubject(grant: Grant, rows: readonly SubjectAccessUse[]): Map<string, { audiences: string[]; scopes: string[] }> {
  const used = new Map<string, { audiences: Set<string>; scopes: Set<string> }>()
  for (const row of rows) {
    if (row.grantId !== grant.id || !grant.audiences.includes(row.audience)) continue
    const entry = used.get(row.subject) ?? { audiences: new Set<string>(), scopes: new Set<string>() }
    used.set(row.subject, entry)
    if (row.scope === undefined) entry.audiences.add(row.audience)
    else if (grant.scopes.includes(row.scope)) entry.scopes.add(row.scope)
  }
  const split = new Map<string, { audiences: string[]; scopes: string[] }>()
  for (const [subject, entry] of used) {
    if (entry.audiences.size === 0) continue
    split.set(subject, {
      audiences: grant.audiences.filter((a) => entry.audiences.has(a)),
      scopes: grant.scopes.filter((s) => entry.scopes.has(s)),
    })
  }
  return split
}

function latest(map: Map<string, Date>, key: string, at: Date): void {
  const known = map.get(key)
  if (known === undefined || known.getTime() < at.getTime()) map.set(key, at)
}

function usedSince(lastUsed: Date | undefined, since: Date): boolean {
  return lastUsed !== undefined && lastUsed.getTime() >= since.getTime()
}
