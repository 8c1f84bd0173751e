import type { AdminToken, AdminTokenInput } from './client.js'
import { printJson, type Command, type CommandGroup } from './command.js'
import { formatTime, printable, renderFields, renderTable, type Column } from './table.js'

/** The state a token is in, as a responder reads it: revoked beats expired. */
function stateOf(token: AdminToken, now: number): string {
  if (token.revokedAt !== null) return 'revoked'
  if (token.expiresAt !== null && Date.parse(token.expiresAt) <= now) return 'expired'
  return 'active'
}

function scopeOf(token: AdminToken): string {
  if (token.scope === null) return 'unrestricted'
  return `owners ${token.scope.owners.join(',')}; subjects ${token.scope.subjectPrefixes.join(',')}`
}

function columns(now: number): Column<AdminToken>[] {
  return [
    // Left whole: it is what `sts admin-tokens revoke` takes.
    { header: 'ID', value: (token) => token.id },
    { header: 'NAME', value: (token) => token.name },
    { header: 'STATE', value: (token) => stateOf(token, now) },
    { header: 'ROLES', value: (token) => token.roles.join(','), max: 60 },
    { header: 'SCOPE', value: scopeOf },
    { header: 'EXPIRES', value: (token) => (token.expiresAt === null ? 'never' : formatTime(token.expiresAt)) },
    { header: 'CREATED BY', value: (token) => token.createdBy },
  ]
}

/** `secret`: the token itself, shown once, when it was just made. */
export function renderAdminToken(token: AdminToken, now: number, secret?: string): string {
  return renderFields([
    ['id', token.id],
    ['name', token.name],
    ['state', stateOf(token, now)],
    ['roles', token.roles.join(' ')],
    ['owners', token.scope === null ? '(any)' : token.scope.owners.join(' ')],
    ['subjectPrefixes', token.scope === null ? '(any)' : token.scope.subjectPrefixes.join(' ')],
    ['createdAt', formatTime(token.createdAt)],
    ['createdBy', token.createdBy],
    ['expiresAt', token.expiresAt === null ? 'never' : formatTime(token.expiresAt)],
    ['revokedAt', token.revokedAt === null ? '' : formatTime(token.revokedAt)],
    ['revokedBy', token.revokedBy ?? ''],
    ...(secret === undefined ? [] : [['token', secret] as const]),
  ])
}

const list: Command = {
  name: 'admin-tokens list',
  summary: 'list admin tokens (never their secrets)',
  usage: 'admin-tokens list [--json]',
  help: `Lists the admin tokens the caller may see, oldest first, revoked and expired ones included:
those whose every role it holds and whose team scope lies within its own. Secrets are never shown:
only their hashes are stored.`,
  options: {},
  positionals: [],
  parse() {
    return async ({ client, json, out }) => {
      const answer = await client.listAdminTokens()
      if (json) return printJson(out, answer)
      if (answer.adminTokens.length === 0) return out.stderr('no admin tokens\n')
      out.stdout(renderTable(columns(Date.now()), answer.adminTokens))
    }
  },
}

const create: Command = {
  name: 'admin-tokens create',
  summary: 'make an admin token (printed once), optionally for a team',
  usage: 'admin-tokens create <name> --role R [--role R ...] [--owner O ... --subject-prefix P ...] [--expires-at ISO] [--json]',
  help: `Makes an admin token with the roles given and prints its secret, this once (only its SHA-256 is
stored): hand it over as a secret, never in a ticket or a chat. It expires after
admin.tokenDefaultTtlDays (90) unless --expires-at says otherwise (at most admin.tokenMaxTtlDays).

With --owner and --subject-prefix the token acts for a team: it creates, changes and lists only
grants with one of its owners and subjects under one of its prefixes (matched at a path-segment
boundary), and sees the ledger, inventory and revocations only for those identities. A team token
holds only grants:read, grants:write, revocations:read, revocations:write, ledger:read and
admin-tokens:write. A token makes tokens with at most its own roles, within its own scope.

options:
  --role R              a role (repeat for several), e.g. grants:read
  --owner O             a grant owner the team token acts for (repeat for several)
  --subject-prefix P    a subject prefix the team token acts for (repeat for several)
  --expires-at ISO      when it stops working (RFC 3339 or a date)`,
  options: {
    role: { type: 'string', multiple: true },
    owner: { type: 'string', multiple: true },
    'subject-prefix': { type: 'string', multiple: true },
    'expires-at': { type: 'string' },
  },
  positionals: ['name'],
  parse(args) {
    const [name] = args.positionals as [string]
    const roles = args.list('role')
    if (roles.length === 0) args.problems.push('--role R is required (repeat it for several roles)')
    const owners = args.list('owner')
    const subjectPrefixes = args.list('subject-prefix')
    if ((owners.length === 0) !== (subjectPrefixes.length === 0))
      args.problems.push('a team scope takes both --owner and --subject-prefix (each at least once)')
    const expiresAt = args.timestamp('expires-at')
    const input = {
      name,
      roles,
      ...(expiresAt === undefined ? {} : { expiresAt }),
      ...(owners.length === 0 ? {} : { scope: { owners, subjectPrefixes } }),
    } as AdminTokenInput
    return async ({ client, json, out }) => {
      const answer = await client.createAdminToken(input)
      if (json) return printJson(out, answer)
      out.stdout(renderAdminToken(answer.adminToken, Date.now(), answer.token))
      out.stderr('the token is shown this once: keep it as a secret\n')
    }
  },
}

const revoke: Command = {
  name: 'admin-tokens revoke',
  summary: 'revoke an admin token by its id',
  usage: 'admin-tokens revoke <id> [--json]',
  help: `Revokes an admin token: it stops working within 5 s on every instance. It stays on the list,
and its name stays taken. The id is the one 'sts admin-tokens list' shows, not the secret.`,
  options: {},
  positionals: ['id'],
  parse(args) {
    const [id] = args.positionals as [string]
    return async ({ client, json, out }) => {
      const answer = await client.revokeAdminToken(id)
      if (json) return printJson(out, answer)
      out.stdout(`revoked admin token ${printable(answer.adminToken.name)} (${answer.adminToken.id})\n`)
    }
  },
}

export const adminTokenCommands: CommandGroup = {
  name: 'admin-tokens',
  summary: 'admin tokens: listing, making (for a team too) and revoking them',
  commands: [list, create, revoke],
}
