import { z } from 'zod'
import { GUARDRAIL_RULES } from '../grants/guardrails/guardrails-config.js'
import { Uuid } from '../lib/ids.js'
import { prose } from '../lib/prose.js'
import type { GrantChange } from './grant-changes.js'
import { MAX_SPLIT_SUBJECTS, type Finding, type GrantUsage, type LeastPrivilegeReport } from './least-privilege.js'
import { MAX_STALE_IDENTITIES } from './least-privilege-report.js'

/**
 * GET /v1/reports/least-privilege: its query and its answer on the wire. The one source for the
 * handler's validation, its types and the API description.
 */

export const LeastPrivilegeQuery = z
  .object({
    days: z.coerce
      .number()
      .int()
      .min(1)
      .max(3650)
      .default(30)
      .describe('The window: an audience, scope or grant used in the last `days` days is used; an identity not seen in them is stale.'),
    expiringWithinDays: z.coerce.number().int().min(0).max(3650).default(14).describe('List the grants that expire within this many days.'),
  })
  .strict()
export type LeastPrivilegeQuery = z.infer<typeof LeastPrivilegeQuery>

const Instant = z.iso.datetime()
const Use = Instant.nullable().describe('Its latest use in a token (as far back as the roll-ups go); null: never.')

const GrantBodyJson = z
  .object({
    subject: z.string(),
    conditions: z.record(z.string(), z.union([z.string(), z.array(z.string())])),
    audiences: z.array(z.string()),
    scopes: z.array(z.string()),
    maxTtlSeconds: z.number().int(),
    owner: z.string(),
    description: z.string(),
    expiresAt: Instant,
    enabled: z.boolean(),
    requireDpop: z.boolean(),
    mayAct: z.array(z.string()),
  })
  .strict()

const ChangeJson = z
  .discriminatedUnion('method', [
    z
      .object({ method: z.literal('PUT'), path: z.string(), ifMatch: z.string().describe('Send as `If-Match`.'), body: GrantBodyJson })
      .strict(),
    z.object({ method: z.literal('POST'), path: z.literal('/v1/grants'), body: GrantBodyJson }).strict(),
    z.object({ method: z.literal('DELETE'), path: z.string().describe('Disables the grant.') }).strict(),
  ])
  .meta({
    id: 'SuggestedChange',
    description: prose`
      A request to the admin API, ready to send: \`PUT\` replaces a grant (its body a whole
      \`GrantReplacement\`, \`If-Match\` the version the report read: a grant changed since is
      refused with 412, not overwritten), \`POST\` creates one, \`DELETE\` disables one.
    `,
  })

const GrantRef = { grantId: Uuid, owner: z.string(), subject: z.string() }
const Unused = {
  unusedAudiences: z.array(z.string()).describe('Its audiences not in any token it contributed to in the window.'),
  unusedScopes: z.array(z.string()).describe('Its scopes not in any token it contributed to in the window.'),
}
const Changes = z.array(ChangeJson).describe('Send them in this order.')

const FindingJson = z
  .discriminatedUnion('kind', [
    z.object({ kind: z.literal('unused-grant'), ...GrantRef, lastUsed: Use, changes: Changes }).strict(),
    z.object({ kind: z.literal('unused-access'), ...GrantRef, ...Unused, changes: Changes }).strict(),
    z
      .object({
        kind: z.literal('split-grant'),
        ...GrantRef,
        subjects: z.array(z.string()).describe('The identities its glob served in the window: each gets a grant of its own.'),
        ...Unused,
        changes: Changes,
      })
      .strict(),
    z.object({ kind: z.literal('expiring-grant'), ...GrantRef, expiresAt: Instant }).strict(),
    z.object({ kind: z.literal('ownerless-grant'), ...GrantRef }).strict(),
    z
      .object({
        kind: z.literal('guardrail'),
        ...GrantRef,
        rules: z.array(z.object({ rule: z.enum(GUARDRAIL_RULES), field: z.string(), reason: z.string() }).strict()),
      })
      .strict(),
    z.object({ kind: z.literal('stale-identity'), subject: z.string(), attestor: z.string(), lastSeen: Instant }).strict(),
  ])
  .meta({
    id: 'LeastPrivilegeFinding',
    description: prose`
      One thing to look at. \`unused-grant\`: a grant older than the window that gave nothing in it
      (change: disable it). \`unused-access\`: audiences or scopes it did not give (change: the grant
      without them). \`split-grant\`: a glob that served at most ${MAX_SPLIT_SUBJECTS} identities
      (change: a grant for each, with the audiences and scopes that identity used, then the glob
      disabled). \`expiring-grant\`: expires within \`expiringWithinDays\`. \`ownerless-grant\`: no
      live admin token (not revoked, not expired) is scoped to its owner. \`guardrail\`: it breaks
      guardrails now configured. \`stale-identity\`: an identity last seen before the window, a
      candidate for offboarding.
    `,
  })

const GrantUsageJson = z
  .object({
    grant: GrantRef.grantId,
    owner: z.string(),
    subject: z.string(),
    lastUsed: Use,
    identities: z.number().int().describe('Identities it served in the window.'),
    audiences: z.array(z.object({ audience: z.string(), lastUsed: Use }).strict()).describe('Each of its audiences.'),
    scopes: z.array(z.object({ scope: z.string(), lastUsed: Use }).strict()).describe('Each of its scopes, for any of its audiences.'),
    ...Unused,
  })
  .strict()

export const LeastPrivilegeReportJson = z
  .object({
    generatedAt: Instant,
    days: z.number().int(),
    expiringWithinDays: z.number().int(),
    since: Instant.describe('The start of the window.'),
    grants: z
      .array(GrantUsageJson)
      .describe('Every live grant (enabled, not expired) the caller may see, in creation order: granted versus used.'),
    findings: z.array(FindingJson),
    staleIdentitiesTruncated: z
      .boolean()
      .describe(`More identities were last seen before the window than the ${MAX_STALE_IDENTITIES} (longest unseen first) listed.`),
  })
  .strict()
  .meta({ id: 'LeastPrivilegeReport', description: 'Granted versus used, and what to change (README.md, "Least privilege").' })
export type LeastPrivilegeReportJson = z.infer<typeof LeastPrivilegeReportJson>

export function reportToJson(report: LeastPrivilegeReport): LeastPrivilegeReportJson {
  return {
    generatedAt: report.generatedAt.toISOString(),
    days: report.days,
    expiringWithinDays: report.expiringWithinDays,
    since: report.since.toISOString(),
    grants: report.grants.map(usageToJson),
    findings: report.findings.map(findingToJson),
    staleIdentitiesTruncated: report.staleIdentitiesTruncated,
  }
}

function usageToJson(usage: GrantUsage): z.infer<typeof GrantUsageJson> {
  return {
    grant: usage.grant.id,
    owner: usage.grant.owner,
    subject: usage.grant.subject,
    lastUsed: iso(usage.lastUsed),
    identities: usage.identities,
    audiences: usage.audiences.map((a) => ({ audience: a.audience, lastUsed: iso(a.lastUsed) })),
    scopes: usage.scopes.map((s) => ({ scope: s.scope, lastUsed: iso(s.lastUsed) })),
    unusedAudiences: usage.unusedAudiences,
    unusedScopes: usage.unusedScopes,
  }
}

function findingToJson(finding: Finding): z.infer<typeof FindingJson> {
  switch (finding.kind) {
    case 'unused-grant':
      return { ...finding, lastUsed: iso(finding.lastUsed), changes: finding.changes.map(changeToJson) }
    case 'unused-access':
    case 'split-grant':
      return { ...finding, changes: finding.changes.map(changeToJson) }
    case 'expiring-grant':
      return { ...finding, expiresAt: finding.expiresAt.toISOString() }
    case 'stale-identity':
      return { ...finding, lastSeen: finding.lastSeen.toISOString() }
    default:
      return finding
  }
}

function changeToJson(change: GrantChange): z.infer<typeof ChangeJson> {
  return change
}

function iso(at: Date | undefined): string | null {
  return at === undefined ? null : at.toISOString()
}
