import type { LedgerEntry, LedgerQuery } from './client.js'
import { listAction, type Command } from './command.js'
import { formatTime, joined, yesNo, type Column } from './table.js'

const ENTRY_COLUMNS: Column<LedgerEntry>[] = [
  { header: 'JTI', value: (e) => e.jti },
  { header: 'ISSUED', value: (e) => formatTime(e.issuedAt) },
  { header: 'EXPIRES', value: (e) => formatTime(e.expiresAt) },
  { header: 'LIVE', value: (e) => yesNo(e.live) },
  { header: 'SUBJECT', value: (e) => e.subject, max: 64, cut: 'middle' },
  { header: 'AUDIENCE', value: (e) => e.audience, max: 32 },
  { header: 'SCOPES', value: (e) => joined(e.scopes), max: 40 },
  { header: 'CLIENT', value: (e) => e.clientAddress ?? '' },
]

export const ledgerCommand: Command = {
  name: 'ledger',
  summary: 'search the ledger of issued tokens',
  usage:
    'ledger [--subject S] [--grant G] [--source X] [--audience A] [--actor ID] [--since ISO] [--until ISO] [--live] [--limit N] [--cursor C] [--all] [--json]',
  help: `Lists issued tokens from the ledger: who got which token, when, through which grants and
attestation sources. Never the tokens themselves. --json shows every field (sources, grantIds,
attestor, attestationFingerprint, requestId).

options:
  --subject S     tokens issued to this workload identity, or to a glob of them
  --grant G       tokens this grant contributed to
  --source X      tokens attested through this source, e.g. k8s:prod:node:node-a
  --audience A    tokens for this audience
  --actor ID      tokens this workload or agent obtained for others (anywhere in the actor chain);
                  no index serves it: combine it with --since or --live
  --since ISO     issued at or after this time, e.g. 2026-11-23T12:00:00Z (or a date)
  --until ISO     issued before this time
  --live          only tokens not yet expired
  --limit N       entries per page
  --cursor C      start at this page (the nextCursor of an earlier --json answer)
  --all           follow nextCursor and print every page`,
  options: {
    subject: { type: 'string' },
    grant: { type: 'string' },
    source: { type: 'string' },
    audience: { type: 'string' },
    actor: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    live: { type: 'boolean' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
    all: { type: 'boolean' },
  },
  positionals: [],
  parse(args) {
    const query: LedgerQuery = {
      subject: args.string('subject'),
      grant: args.string('grant'),
      source: args.string('source'),
      audience: args.string('audience'),
      actor: args.string('actor'),
      since: args.timestamp('since'),
      until: args.timestamp('until'),
      live: args.flag('live'),
      limit: args.integer('limit', 1),
    }
    return listAction(args, {
      key: 'entries',
      noun: 'ledger entries',
      columns: ENTRY_COLUMNS,
      fetchPage: async (client, cursor) => {
        const answer = await client.listLedger({ ...query, cursor })
        return { rows: answer.entries, nextCursor: answer.nextCursor, answer }
      },
    })
  },
}
