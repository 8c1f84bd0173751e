import type { LedgerVerification, LedgerVerifyQuery } from './client.js'
import { printJson, type Command } from './command.js'
import { ExitCode } from './errors.js'
import { printable } from './table.js'

const HEAD = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}:[1-9][0-9]{0,15}:[0-9a-fA-F]{64}$/

export const ledgerVerifyCommand: Command = {
  name: 'ledger verify',
  summary: "walk the ledger's hash chains and report what was changed outside the service",
  usage: 'ledger verify [--since ISO] [--until ISO] [--head CHAIN:SEQ:HASH ...] [--json]',
  help: `Walks every hash chain of the ledger: recomputes each batch's and each row's hash, checks
each batch's link to the one before, and reports every row changed, inserted or deleted outside the
service, every batch changed or missing. Partitions dropped by retention are reported as retention,
not tampering. Exits 0 when the ledger is intact, 4 when something was found.

options:
  --since ISO               only batches and rows issued at or after this time
  --until ISO               only those issued before this time
  --head CHAIN:SEQ:HASH     a chain head anchored outside the database (the anchor's log line, its
                            webhook, or the sts_ledger_chain_head_info metric); repeatable. Without
                            one, a deletion of a chain's last batches cannot be seen`,
  options: {
    since: { type: 'string' },
    until: { type: 'string' },
    head: { type: 'string', multiple: true },
  },
  positionals: [],
  parse(args) {
    const heads = args.list('head')
    for (const head of heads) {
      if (!HEAD.test(head))
        args.problems.push(`--head must be CHAIN:SEQ:HASH (a uuid, a seq from 1, 64 hex digits), not ${JSON.stringify(head)}`)
    }
    const query: LedgerVerifyQuery = {
      since: args.timestamp('since'),
      until: args.timestamp('until'),
      heads: heads.length === 0 ? undefined : heads.map((head) => head.toLowerCase()),
    }
    return async ({ client, json, out }) => {
      const answer = await client.verifyLedger(query)
      if (json) printJson(out, answer)
      else out.stdout(describe(answer))
      return answer.intact ? ExitCode.ok : ExitCode.tampered
    }
  },
}

function describe(v: LedgerVerification): string {
  const lines = [
    `${v.intact ? 'intact' : 'NOT INTACT'}: ${v.checked.chains} chains, ${v.checked.batches} batches, ${v.checked.rows} rows checked`,
  ]
  for (const f of v.findings) {
    const where = f.chainId === undefined ? '' : ` chain ${f.chainId}${f.seq === undefined ? '' : ` seq ${f.seq}`}`
    const what =
      f.kind === 'batches-deleted'
        ? ` seq ${f.fromSeq}..${f.toSeq}`
        : f.kind === 'chain-truncated'
          ? ` holds seq ${f.heldSeq ?? 'nothing'}, anchored seq ${f.anchoredSeq}`
          : f.jti === undefined
            ? ''
            : ` jti ${f.jti}${f.issuedAt === undefined ? '' : ` issued ${f.issuedAt}`}`
    lines.push(printable(`  ${f.kind}:${where}${what}`))
  }
  if (v.findingCount > v.findings.length)
    lines.push(`  ... ${v.findingCount - v.findings.length} more (--json, or a narrower --since/--until)`)
  if (v.retention.rows > 0 || v.retention.drops.length > 0) {
    lines.push(
      `retention: ${v.retention.drops.length} partitions dropped; ${v.retention.batches} batches lost ${v.retention.rows} rows to it`,
    )
  }
  if (v.unchained.rows > 0) lines.push(`unchained: ${v.unchained.rows} rows written by the previous release during the upgrade`)
  return lines.join('\n') + '\n'
}
