import type { SigningKey } from './client.js'
import { printJson, type Command, type CommandGroup } from './command.js'
import { formatTime, printable, renderTable, type Column } from './table.js'

const KEY_COLUMNS: Column<SigningKey>[] = [
  // Left whole: it is what `sts keys revoke` takes.
  { header: 'KID', value: (k) => k.kid },
  { header: 'ALG', value: (k) => k.alg },
  { header: 'STATE', value: (k) => k.state },
  { header: 'PUBLISHED', value: (k) => formatTime(k.publishedAt) },
  { header: 'SIGNS FROM', value: (k) => formatTime(k.activatesAt ?? k.activatedAt) },
  { header: 'RETIRED', value: (k) => formatTime(k.retiredAt) },
  { header: 'UNPUBLISHED AFTER', value: (k) => formatTime(k.removeAfter) },
  { header: 'REVOKED', value: (k) => formatTime(k.revokedAt) },
]

const list: Command = {
  name: 'keys list',
  summary: 'list the signing keys and their states',
  usage: 'keys list [--json]',
  help: `Lists every signing key, oldest first: next (published, signing from SIGNS FROM), current
(signing), retired (published until UNPUBLISHED AFTER), removed, revoked.`,
  options: {},
  positionals: [],
  parse() {
    return async ({ client, json, out }) => {
      const answer = await client.listKeys()
      if (json) return printJson(out, answer)
      out.stdout(renderTable(KEY_COLUMNS, answer.keys))
    }
  },
}

const rotate: Command = {
  name: 'keys rotate',
  summary: 'start a rotation: publish the next signing key',
  usage: 'keys rotate [--json]',
  help: `Makes the next signing key and publishes it. It signs once every verifier can have fetched it
(the JWKS cache lifetime plus the time replicas take to hear of it); the current key is then retired,
and stays published until every token it signed has expired. With a next key waiting already,
prints that one and makes no other.`,
  options: {},
  positionals: [],
  parse() {
    return async ({ client, json, out }) => {
      const result = await client.rotateKeys()
      if (json) return printJson(out, result)
      const { key } = result
      out.stdout(
        `${result.alreadyPending ? 'a next key is waiting already' : 'published the next key'}: ${key.kid}, signing from ${formatTime(key.activatesAt)}\n`,
      )
    }
  },
}

const revoke: Command = {
  name: 'keys revoke',
  summary: 'revoke a signing key in an emergency: unpublished, its tokens refused',
  usage: 'keys revoke <kid> --reason R [--json]',
  help: `For a key that may be compromised. At once, everywhere: the key leaves the JWKS, every token
it signed is refused (a revocation of kind key, on introspection and on the revocation stream), and
if it was signing, another key signs in its place at once.

options:
  --reason R    why: the responders after you will ask (required)`,
  options: { reason: { type: 'string' } },
  positionals: ['kid'],
  parse(args) {
    const [kid] = args.positionals as [string]
    const reason = args.required('reason', 'R')
    return async ({ client, json, out }) => {
      const result = await client.revokeKey(kid, reason)
      if (json) return printJson(out, result)
      if (result.alreadyRevoked) {
        return out.stdout(
          `already revoked key ${result.key.kid} at ${formatTime(result.key.revokedAt)}: ${printable(result.key.revokeReason)}\n`,
        )
      }
      const cut = result.revocation.liveTokensCutOff
      const tokens =
        cut === null
          ? 'its live tokens could not be counted (they are refused all the same)'
          : `${cut} live ${cut === 1 ? 'token' : 'tokens'} cut off`
      const replaced = result.replacement ? `; key ${result.replacement.kid} signs in its place` : ''
      out.stdout(`revoked key ${result.key.kid}: ${tokens}${replaced}\n`)
    }
  },
}

export const keyCommands: CommandGroup = {
  name: 'keys',
  summary: 'the signing keys: list, rotate, revoke',
  commands: [list, rotate, revoke],
}
