import type { SigningKey } from './client.js'
import { printJson, type Command, type CommandGroup } from './command.js'
import { formatTime, printable, renderTable, type Column } from './table.js'

const KEY_COLUMNS: Column<SigningKey>[] = [
  // Left whole: it is what `sts keys revoke` takes.
  { header: 'KID', value: (k) => k.kid },
  { header: 'ALG', value: (k) => k.alg },
  { header: 'STATE', value: (k) => k.state },
  // Which key-encryption key seals it: during a KEK rotation, whether it is re-sealed yet.
  { header: 'KEK', value: (k) => k.kekId ?? '-' },
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

const reseal: Command = {
  name: 'keys reseal',
  summary: 'seal the signing keys again under the current key-encryption key',
  usage: 'keys reseal [--json]',
  help: `For a rotation of the key-encryption key: every signing key still sealed under a previous
key-encryption key (keys.previousEncryptionKeys) is sealed again under the current one of the
instance that answers. Every instance's key upkeep does the same on its own; this does it now and
says what is left. Once none remain on any instance, the previous key-encryption keys can be dropped.
Safe to repeat.`,
  options: {},
  positionals: [],
  parse() {
    return async ({ client, json, out }) => {
      const result = await client.resealKeys()
      if (json) return printJson(out, result)
      if (result.kekId === null) return out.stdout('the signing keys are not sealed with a key-encryption key: nothing to re-seal\n')
      const count = (n: number) => `${n} ${n === 1 ? 'key' : 'keys'}`
      out.stdout(
        `re-sealed ${count(result.resealed)} under the key-encryption key ${result.kekId}; ${count(result.remaining)} remain under others\n`,
      )
      for (const key of result.remainingKeys)
        out.stdout(`  ${key.kid} is sealed under ${key.kekId ?? 'no key-encryption key'}, not held by this instance\n`)
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
  summary: 'the signing keys: list, rotate, revoke, reseal',
  commands: [list, rotate, revoke, reseal],
}
