import type { Identity, IdentityDetail, IdentityQuery } from './client.js'
import { listAction, printJson, type Command, type CommandGroup } from './command.js'
import { formatTime, joined, renderFields, renderTable, text, type Column } from './table.js'

const IDENTITY_COLUMNS: Column<Identity>[] = [
  // Left whole: it is what `sts identities show` takes.
  { header: 'SUBJECT', value: (i) => i.subject },
  { header: 'ATTESTOR', value: (i) => i.attestor },
  { header: 'FIRST SEEN', value: (i) => formatTime(i.firstSeen) },
  { header: 'LAST SEEN', value: (i) => formatTime(i.lastSeen) },
  { header: 'AUDIENCES', value: (i) => joined(i.audiences.map((a) => a.audience)), max: 40 },
  { header: 'GRANTS', value: (i) => text(i.grants.length) },
]

/**
 * One identity: its fields, what it obtained (audience, scope, last used, through which grants), its
 * daily counts, and who acted for it and whom it acted for (only when there are any).
 */
export function renderIdentity(identity: IdentityDetail): string {
  const fields = renderFields([
    ['subject', identity.subject],
    ['attestor', `${identity.attestor} (${identity.attestorKind})`],
    ['sources', joined(identity.sources)],
    ['firstSeen', formatTime(identity.firstSeen)],
    ['lastSeen', formatTime(identity.lastSeen)],
  ])
  const obtained = identity.grants.flatMap((grant) =>
    grant.audiences.flatMap((audience) => [
      { grant: grant.grantId, audience: audience.audience, scope: '', lastUsed: audience.lastUsed },
      ...audience.scopes.map((scope) => ({
        grant: grant.grantId,
        audience: audience.audience,
        scope: scope.scope,
        lastUsed: scope.lastUsed,
      })),
    ]),
  )
  const access = renderTable(
    [
      { header: 'GRANT', value: (r) => r.grant },
      { header: 'AUDIENCE', value: (r) => r.audience, max: 40 },
      { header: 'SCOPE', value: (r) => r.scope, max: 40 },
      { header: 'LAST USED', value: (r) => formatTime(r.lastUsed) },
    ],
    obtained,
  )
  const daily = renderTable(
    [
      { header: 'DAY', value: (d) => d.day },
      { header: 'TOKENS', value: (d) => text(d.tokens) },
    ],
    identity.dailyTokens,
  )
  const delegations = [
    ...identity.delegations.map((d) => ({ relation: 'acted for it', other: d.actor, ...d })),
    ...identity.actedFor.map((d) => ({ relation: 'it acted for', other: d.subject, ...d })),
  ]
  if (delegations.length === 0) return `${fields}\n${access}\n${daily}`
  const delegated = renderTable(
    [
      { header: 'DELEGATION', value: (d) => d.relation },
      { header: 'IDENTITY', value: (d) => d.other, max: 64, cut: 'middle' },
      { header: 'TOKENS', value: (d) => text(d.tokens) },
      { header: 'FIRST SEEN', value: (d) => formatTime(d.firstSeen) },
      { header: 'LAST SEEN', value: (d) => formatTime(d.lastSeen) },
    ],
    delegations,
  )
  return `${fields}\n${access}\n${daily}\n${delegated}`
}

const list: Command = {
  name: 'identities list',
  summary: 'list the workload identities that got tokens (the inventory)',
  usage:
    'identities list [--subject S] [--attestor A] [--source X] [--last-seen-before ISO] [--last-seen-after ISO] [--limit N] [--cursor C] [--all] [--json]',
  help: `Lists every workload identity issued a token since the inventory began, in subject order:
its attestor, when it was first and last seen, the audiences it obtained and how many grants served
it. --json shows every field (sources, scopes, each grant's part, first and last use of each).

options:
  --subject S             this identity, or a glob of them, e.g. 'spiffe://example.org/k8s/prod/ns/payments/**'
  --attestor A            only identities whose latest token came through this attestor
  --source X              only identities with this source among their recent ones, e.g. k8s:prod:node:node-a
  --last-seen-before ISO  only identities last seen before this time (or a date): candidates for offboarding
  --last-seen-after ISO   only identities seen at or after this time
  --limit N               identities per page (1-500)
  --cursor C              start at this page (the nextCursor of an earlier --json answer)
  --all                   follow nextCursor and print every page`,
  options: {
    subject: { type: 'string' },
    attestor: { type: 'string' },
    source: { type: 'string' },
    'last-seen-before': { type: 'string' },
    'last-seen-after': { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
    all: { type: 'boolean' },
  },
  positionals: [],
  parse(args) {
    const query: IdentityQuery = {
      subject: args.string('subject'),
      attestor: args.string('attestor'),
      source: args.string('source'),
      lastSeenBefore: args.timestamp('last-seen-before'),
      lastSeenAfter: args.timestamp('last-seen-after'),
      limit: args.integer('limit', 1),
    }
    return listAction(args, {
      key: 'identities',
      noun: 'identities',
      columns: IDENTITY_COLUMNS,
      fetchPage: async (client, cursor) => {
        const answer = await client.listIdentities({ ...query, cursor })
        return { rows: answer.identities, nextCursor: answer.nextCursor, answer }
      },
    })
  },
}

const show: Command = {
  name: 'identities show',
  summary: 'show one workload identity: what it obtained through which grant, and its tokens per day',
  usage: 'identities show <subject> [--json]',
  help: `Shows one identity by its exact SPIFFE ID: its attestor and recent sources, each audience and
scope it obtained through each grant with when it was last in a token, its tokens per UTC day, and
its delegations: who acted for it, and whom it acted for (tokens, first and last seen).`,
  options: {},
  positionals: ['subject'],
  parse(args) {
    const [subject] = args.positionals as [string]
    return async ({ client, json, out }) => {
      const answer = await client.getIdentity(subject)
      if (json) return printJson(out, answer)
      out.stdout(renderIdentity(answer.identity))
    }
  },
}

export const identityCommands: CommandGroup = {
  name: 'identities',
  summary: 'the inventory of workload identities: who got tokens, for what, how often',
  commands: [list, show],
}
