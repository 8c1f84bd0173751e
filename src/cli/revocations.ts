import { REVOCABLE_KINDS, REVOCATION_KINDS, type RevocableKind, type Revocation } from './client.js'
import { listAction, printJson, type Command, type CommandGroup } from './command.js'
import { formatTime, printable, type Column } from './table.js'

const REVOCATION_COLUMNS: Column<Revocation>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'KIND', value: (r) => r.kind },
  { header: 'VALUE', value: (r) => r.value, max: 64, cut: 'middle' },
  { header: 'CREATED', value: (r) => formatTime(r.createdAt) },
  { header: 'BY', value: (r) => r.createdBy, max: 20 },
  { header: 'EXPIRES', value: (r) => formatTime(r.expiresAt) },
  { header: 'LIFTED', value: (r) => formatTime(r.liftedAt) },
  { header: 'REASON', value: (r) => r.reason, max: 40 },
]

const TARGETS: Record<RevocableKind, { placeholder: string; summary: string; about: string }> = {
  subject: {
    placeholder: '<spiffe-id-or-glob>',
    summary: 'revoke a workload identity, or a glob of them',
    about: `Stops every token of the matching workloads at once, and refuses them new ones.
The value is a SPIFFE ID or a glob, e.g. 'spiffe://example.org/k8s/prod/ns/payments/**'.`,
  },
  token: {
    placeholder: '<jti>',
    summary: 'revoke one issued token, by its jti',
    about: "Stops one token. Its jti is in the ledger ('sts ledger') and in the token itself.",
  },
  grant: {
    placeholder: '<grant-id>',
    summary: 'revoke a grant: its tokens stop, and it grants nothing',
    about: `Stops every token the grant contributed to, at once, on every instance. Unlike
'sts grants disable', this also cuts off tokens already issued.`,
  },
  source: {
    placeholder: '<source-id>',
    summary: 'revoke an attestation source: a cluster, node, pod, cloud account, instance, repository...',
    about: `Stops every token attested through the source, e.g. k8s:prod (a cluster),
k8s:prod:node:node-a (a node), k8s:prod:pod:<pod uid> (a pod), aws:111122223333 (an AWS account),
aws:111122223333:eu-west-1:i-0abc123 (an instance), gcp:<project>, azure:<subscription>,
github:repository_id:<id> (a repository). The README lists each attestor's sources.`,
  },
}

function revokeCommand(kind: RevocableKind): Command {
  const target = TARGETS[kind]
  return {
    name: `revoke ${kind}`,
    summary: target.summary,
    usage: `revoke ${kind} ${target.placeholder} --reason R [--expires-at ISO] [--json]`,
    help: `${target.about}
Prints how many live tokens it cut off.

options:
  --reason R        why: the responders after you will ask (required)
  --expires-at ISO  when the revocation ends by itself, e.g. 2026-11-24T12:00:00Z; default ${kind === 'token' ? 'when the token expires' : 'never'}`,
    options: { reason: { type: 'string' }, 'expires-at': { type: 'string' } },
    positionals: [kind],
    parse(args) {
      const [value] = args.positionals as [string]
      const reason = args.required('reason', 'R')
      const expiresAt = args.timestamp('expires-at')
      return async ({ client, json, out }) => {
        const result = await client.revoke({ kind, value, reason, ...(expiresAt === undefined ? {} : { expiresAt }) })
        if (json) return printJson(out, result)
        const { revocation, liveTokensCutOff: cut } = result
        const target = `${revocation.kind} ${printable(revocation.value)} (id ${revocation.id})`
        if (result.alreadyRevoked) {
          // Revoking twice is not an error (exit 0): the standing revocation, and its reason, are kept.
          return out.stdout(`already revoked ${target} since ${formatTime(revocation.createdAt)}: ${printable(revocation.reason)}\n`)
        }
        if (cut === null)
          return out.stdout(
            `revoked ${target}: in force, but ${printable(result.liveTokensCutOffUnavailable ?? 'the live tokens could not be counted')}\n`,
          )
        out.stdout(`revoked ${target}: ${cut} live ${cut === 1 ? 'token' : 'tokens'} cut off\n`)
      }
    },
  }
}

export const revokeCommands: CommandGroup = {
  name: 'revoke',
  summary: 'cut off tokens now, everywhere',
  commands: REVOCABLE_KINDS.map(revokeCommand),
}

const list: Command = {
  name: 'revocations list',
  summary: 'list revocations',
  usage: 'revocations list [--kind K] [--active] [--cursor C] [--all] [--json]',
  help: `Lists revocations, lifted and expired ones included unless --active.

options:
  --kind K      only this kind: ${REVOCATION_KINDS.join(', ')}
  --active      only revocations in force (not lifted, not expired)
  --cursor C    start at this page (the nextCursor of an earlier --json answer)
  --all         follow nextCursor and print every page`,
  options: { kind: { type: 'string' }, active: { type: 'boolean' }, cursor: { type: 'string' }, all: { type: 'boolean' } },
  positionals: [],
  parse(args) {
    const query = { kind: args.choice('kind', REVOCATION_KINDS), active: args.flag('active') }
    return listAction(args, {
      key: 'revocations',
      noun: 'revocations',
      columns: REVOCATION_COLUMNS,
      fetchPage: async (client, cursor) => {
        const answer = await client.listRevocations({ ...query, cursor })
        return { rows: answer.revocations, nextCursor: answer.nextCursor, answer }
      },
    })
  },
}

const lift: Command = {
  name: 'revocations lift',
  summary: 'lift a revocation',
  usage: 'revocations lift <id> --reason R [--json]',
  help: `Lifts a revocation: what it named is no longer refused. The revocation stays on record,
with who lifted it and why.

options:
  --reason R    why it is lifted (required)`,
  options: { reason: { type: 'string' } },
  positionals: ['id'],
  parse(args) {
    const [id] = args.positionals as [string]
    const reason = args.required('reason', 'R')
    return async ({ client, json, out }) => {
      const result = await client.liftRevocation(id, reason)
      if (json) return printJson(out, result)
      const { revocation } = result
      out.stdout(`lifted revocation ${revocation.id} (${revocation.kind} ${printable(revocation.value)})\n`)
    }
  },
}

export const revocationCommands: CommandGroup = {
  name: 'revocations',
  summary: 'what is revoked, and lifting it',
  commands: [list, lift],
}
