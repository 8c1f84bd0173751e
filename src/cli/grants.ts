import type { ParsedArgs } from './args.js'
import type { Grant, GrantInput } from './client.js'
import { listAction, printJson, type Command, type CommandGroup, type Output } from './command.js'
import { ExitCode } from './errors.js'
import { formatTime, joined, renderFields, text, yesNo, type Column } from './table.js'

const GRANT_COLUMNS: Column<Grant>[] = [
  { header: 'ID', value: (g) => g.id },
  { header: 'ENABLED', value: (g) => yesNo(g.enabled) },
  { header: 'OWNER', value: (g) => g.owner, max: 24 },
  { header: 'SUBJECT', value: (g) => g.subject, max: 64, cut: 'middle' },
  { header: 'AUDIENCES', value: (g) => joined(g.audiences), max: 32 },
  { header: 'SCOPES', value: (g) => joined(g.scopes), max: 40 },
  { header: 'TTL', value: (g) => `${g.maxTtlSeconds}s` },
  { header: 'EXPIRES', value: (g) => formatTime(g.expiresAt) },
]

/** A grant as `key  value` lines, every field, nothing cut. */
export function renderGrant(grant: Grant): string {
  const conditions = Object.entries(grant.conditions ?? {})
    .map(([name, globs]) => `${name}=${Array.isArray(globs) ? globs.join(',') : globs}`)
    .join(' ')
  return renderFields([
    ['id', grant.id],
    ['subject', grant.subject],
    ['conditions', conditions],
    ['audiences', joined(grant.audiences)],
    ['scopes', joined(grant.scopes)],
    ['maxTtlSeconds', text(grant.maxTtlSeconds)],
    ['requireDpop', text(grant.requireDpop)],
    ['mayAct', joined(grant.mayAct)],
    ['owner', grant.owner],
    ['description', grant.description],
    ['enabled', text(grant.enabled)],
    ['expiresAt', formatTime(grant.expiresAt)],
    ['version', text(grant.version)],
    ['createdAt', formatTime(grant.createdAt)],
    ['updatedAt', formatTime(grant.updatedAt)],
  ])
}

function printGrant(out: Output, json: boolean, grant: Grant, headline?: string): void {
  if (json) return printJson(out, grant)
  out.stdout((headline ? `${headline}\n` : '') + renderGrant(grant))
}

const list: Command = {
  name: 'grants list',
  summary: 'list grants, oldest first',
  usage: 'grants list [--owner O] [--subject S] [--limit N] [--cursor C] [--all] [--json]',
  help: `Lists grants in creation order, one page (100 by default) unless --all.

options:
  --owner O     only grants owned by O
  --subject S   only grants whose subject pattern is exactly S (not a match against S)
  --limit N     grants per page (1-500)
  --cursor C    start at this page (the nextCursor of an earlier --json answer)
  --all         follow nextCursor and print every page`,
  options: {
    owner: { type: 'string' },
    subject: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
    all: { type: 'boolean' },
  },
  positionals: [],
  parse(args) {
    const query = { owner: args.string('owner'), subject: args.string('subject'), limit: args.integer('limit', 1) }
    return listAction(args, {
      key: 'grants',
      noun: 'grants',
      columns: GRANT_COLUMNS,
      fetchPage: async (client, cursor) => {
        const answer = await client.listGrants({ ...query, cursor })
        return { rows: answer.grants, nextCursor: answer.nextCursor, answer }
      },
    })
  },
}

const show: Command = {
  name: 'grants show',
  summary: 'show one grant',
  usage: 'grants show <id> [--json]',
  help: 'Shows every field of one grant.',
  options: {},
  positionals: ['id'],
  parse(args) {
    const [id] = args.positionals as [string]
    return async ({ client, json, out }) => printGrant(out, json, await client.getGrant(id))
  },
}

const GRANT_OPTIONS_USAGE =
  '--subject S --audience A [--audience A2]... [--scope X]... [--max-ttl N] --owner O [--description D] ' +
  '[--expires-at ISO] [--condition name=glob]... [--require-dpop] [--may-act glob]... [--json]'

const GRANT_OPTIONS_HELP = `options:
  --subject S            a SPIFFE ID or a glob of them, e.g. 'spiffe://example.org/k8s/prod/ns/payments/sa/*'
  --audience A           an audience the grant gives (repeat for more; at least one)
  --scope X              a scope the grant gives (repeat for more)
  --max-ttl N            longest lifetime, in seconds, of a token the grant contributes to
  --owner O              the team that answers for the grant
  --description D        why the grant exists
  --expires-at ISO       when it stops granting, e.g. 2027-02-21T00:00:00Z (or a date)
  --condition name=glob  a claim of the attestation that must match, e.g. podName='api-*'
                         (repeat; the same name twice means either glob)
  --require-dpop         tokens the grant contributes to are bound to a DPoP key; bearer requests are refused
  --may-act glob         a SPIFFE ID or glob of the workloads that may act for the subjects with an
                         actor_token (repeat for more; none: no delegation)`

const GRANT_OPTIONS: Command['options'] = {
  subject: { type: 'string' },
  audience: { type: 'string', multiple: true },
  scope: { type: 'string', multiple: true },
  'max-ttl': { type: 'string' },
  owner: { type: 'string' },
  description: { type: 'string' },
  'expires-at': { type: 'string' },
  condition: { type: 'string', multiple: true },
  'require-dpop': { type: 'boolean' },
  'may-act': { type: 'string', multiple: true },
}

const create: Command = {
  name: 'grants create',
  summary: 'create a grant',
  usage: `grants create ${GRANT_OPTIONS_USAGE}`,
  help: `Creates a grant: workloads whose identity matches S may get tokens for the audiences, with the scopes.
What is left out takes the service's default (no scopes, max TTL 3600 s, expiry 90 days ahead
unless the service is configured otherwise). A grant that breaks a guardrail configured to deny
it is refused, naming each rule; those configured to warn are printed on stderr.

${GRANT_OPTIONS_HELP}`,
  options: GRANT_OPTIONS,
  positionals: [],
  parse(args) {
    const input = grantInputOf(args)
    return async ({ client, json, out }) => {
      const grant = await client.createGrant(input)
      for (const warning of grant.warnings ?? []) out.stderr(`sts: warning: ${warning.rule}: ${warning.reason}\n`)
      printGrant(out, json, grant, `created grant ${grant.id}`)
    }
  },
}

const validate: Command = {
  name: 'grants validate',
  summary: 'check a grant against the guardrails without creating it',
  usage: `grants validate ${GRANT_OPTIONS_USAGE}`,
  help: `Asks the service what 'grants create' with the same options would do, and creates nothing:
whether the grant would be created, then each guardrail it breaks, 'deny' (it would be refused)
or 'warn'. Exits 1 when it would be refused, so a pipeline can stop on it.

${GRANT_OPTIONS_HELP}`,
  options: GRANT_OPTIONS,
  positionals: [],
  parse(args) {
    const input = grantInputOf(args)
    return async ({ client, json, out }) => {
      const answer = await client.validateGrant(input)
      if (json) printJson(out, answer)
      else
        out.stdout(
          [
            answer.allowed ? 'the grant would be created' : 'the grant would be refused',
            ...answer.denied.map((finding) => `deny  ${finding.rule}: ${finding.reason}`),
            ...answer.warnings.map((finding) => `warn  ${finding.rule}: ${finding.reason}`),
          ].join('\n') + '\n',
        )
      return answer.allowed ? ExitCode.ok : ExitCode.failed
    }
  },
}

/** The grant the options of `grants create` and `grants validate` describe. */
function grantInputOf(args: ParsedArgs): GrantInput {
  const input: GrantInput = {
    subject: args.required('subject', 'S'),
    audiences: args.list('audience'),
    owner: args.required('owner', 'O'),
  }
  if (input.audiences.length === 0) args.problems.push('--audience A is required (repeat it for more audiences)')
  const scopes = args.list('scope')
  if (scopes.length > 0) input.scopes = scopes
  const maxTtl = args.integer('max-ttl', 1)
  if (maxTtl !== undefined) input.maxTtlSeconds = maxTtl
  const description = args.string('description')
  if (description !== undefined) input.description = description
  const expiresAt = args.timestamp('expires-at')
  if (expiresAt !== undefined) input.expiresAt = expiresAt
  const conditions = parseConditions(args)
  if (conditions !== undefined) input.conditions = conditions
  if (args.flag('require-dpop')) input.requireDpop = true
  const mayAct = args.list('may-act')
  if (mayAct.length > 0) input.mayAct = mayAct
  return input
}

const disable: Command = {
  name: 'grants disable',
  summary: 'disable a grant (it stays on record)',
  usage: 'grants disable <id> [--json]',
  help: `Disables a grant: it grants nothing from now on, and stays on record so ledger entries keep
pointing at it. Tokens already issued stay valid until they expire: to cut them off, also run
'sts revoke grant <id>'.`,
  options: {},
  positionals: ['id'],
  parse(args) {
    const [id] = args.positionals as [string]
    return async ({ client, json, out }) => {
      const grant = await client.disableGrant(id)
      if (json) return printJson(out, grant)
      out.stdout(`disabled grant ${grant.id} (owner ${grant.owner}, subject ${grant.subject})\n`)
    }
  },
}

/** `--condition name=glob`, repeatable; a name given twice collects its globs into a list (any may match). */
function parseConditions(args: ParsedArgs): Record<string, string | string[]> | undefined {
  const given = args.list('condition')
  if (given.length === 0) return undefined
  const conditions: Record<string, string[]> = {}
  for (const condition of given) {
    const at = condition.indexOf('=')
    const name = condition.slice(0, at)
    const glob = condition.slice(at + 1)
    if (at <= 0 || glob === '') {
      args.problems.push(`--condition must be name=glob, e.g. --condition 'podName=api-*', not ${JSON.stringify(condition)}`)
      continue
    }
    ;(conditions[name] ??= []).push(glob)
  }
  return Object.fromEntries(Object.entries(conditions).map(([name, globs]) => [name, globs.length === 1 ? globs[0] : globs]))
}

export const grantCommands: CommandGroup = {
  name: 'grants',
  summary: 'who may get which tokens',
  commands: [list, show, create, validate, disable],
}
