import type { LeastPrivilegeReport } from './client.js'
import { printJson, type Command, type CommandGroup } from './command.js'
import { formatTime, joined, renderTable } from './table.js'

type Finding = LeastPrivilegeReport['findings'][number]

/** What a finding says, in a few words. */
function detailOf(finding: Finding): string {
  switch (finding.kind) {
    case 'unused-grant':
      return finding.lastUsed === null ? 'never used' : `last used ${formatTime(finding.lastUsed)}`
    case 'unused-access':
      return unused(finding.unusedAudiences, finding.unusedScopes)
    case 'split-grant':
      return `served ${finding.subjects.length} identities; ${unused(finding.unusedAudiences, finding.unusedScopes)}`
    case 'expiring-grant':
      return `expires ${formatTime(finding.expiresAt)}`
    case 'ownerless-grant':
      return `no live admin token is scoped to ${finding.owner}`
    case 'guardrail':
      return joined(finding.rules.map((rule) => rule.rule))
    case 'stale-identity':
      return `last seen ${formatTime(finding.lastSeen)} (${finding.attestor})`
  }
}

function unused(audiences: readonly string[], scopes: readonly string[]): string {
  return `unused audiences: ${joined(audiences) || '-'}; unused scopes: ${joined(scopes) || '-'}`
}

/** The requests, in order, without their bodies (`--json` has them whole). */
function changesOf(finding: Finding): string {
  if (!('changes' in finding)) return ''
  return finding.changes.map((change) => `${change.method} ${change.path}`).join(', ')
}

const leastPrivilege: Command = {
  name: 'report least-privilege',
  summary: 'granted versus used: unused audiences, scopes and grants, and the changes that take them away',
  usage: 'report least-privilege [--days N] [--expiring-within-days M] [--json]',
  help: `Lists what the grants you may see gave in the last N days against what they grant: unused
audiences and scopes, grants unused for N days, grants expiring within M days, grants whose owner
has no live admin token, identities not seen for N days (offboarding candidates) and grants that
break the guardrails. Each tightening finding names the requests that make it; --json shows them
whole, ready to send (PUT bodies with If-Match, POST bodies, DELETEs), with each grant's use.

options:
  --days N                  the window, in days (default 30)
  --expiring-within-days M  list grants expiring within M days (default 14)`,
  options: {
    days: { type: 'string' },
    'expiring-within-days': { type: 'string' },
  },
  positionals: [],
  parse(args) {
    const query = { days: args.integer('days', 1), expiringWithinDays: args.integer('expiring-within-days', 0) }
    return async ({ client, json, out }) => {
      const report = await client.leastPrivilegeReport(query)
      if (json) return printJson(out, report)
      if (report.findings.length === 0) out.stderr(`nothing found in the last ${report.days} days\n`)
      else
        out.stdout(
          renderTable(
            [
              { header: 'FINDING', value: (f) => f.kind },
              { header: 'GRANT', value: (f) => ('grantId' in f ? f.grantId : '') },
              { header: 'SUBJECT', value: (f) => f.subject, max: 60, cut: 'middle' },
              { header: 'DETAIL', value: detailOf, max: 80 },
              { header: 'CHANGES', value: changesOf },
            ],
            report.findings,
          ),
        )
      if (report.staleIdentitiesTruncated) out.stderr('more identities were last seen before the window than listed\n')
    }
  },
}

export const reportCommands: CommandGroup = {
  name: 'report',
  summary: 'reports on the grants: granted versus used',
  commands: [leastPrivilege],
}
