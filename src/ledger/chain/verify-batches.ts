import type { Queryable } from '../../db/database.js'
import { batchHash, ROW_HASH_BYTES, rowsHash } from './batch-hash.js'
import type { KnownHead, LedgerFinding } from './verification.js'

/** A timestamp column as the canonical forms write it: UTC, microseconds. */
export function canonicalTimeSql(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
}

const PAGE = 1000

interface BatchRow {
  chain_id: string
  seq: string | number
  issued_from: string
  issued_to: string
  committed_at: string
  row_count: number
  prev_hash: Uint8Array | null
  rows_hash: Uint8Array
  batch_hash: Uint8Array
  jtis: string[] | null
  row_hashes: Uint8Array | null
}

const BATCH_SELECT = `chain_id, seq, ${canonicalTimeSql('issued_from')} AS issued_from, ${canonicalTimeSql('issued_to')} AS issued_to,
  ${canonicalTimeSql('committed_at')} AS committed_at, row_count, prev_hash, rows_hash, batch_hash, jtis, row_hashes`

export interface BatchWalk {
  chains: number
  batches: number
}

/**
 * Walks the batches issued in [since, until) chain by chain in seq order: each batch's hash is
 * recomputed from its columns, and each is linked to the one before it (looked up outside the range
 * for a chain's first batch in it). Then the anchored heads: each must be in the database, with its hash.
 */
export async function walkBatches(
  db: Queryable,
  range: { since: Date | null; until: Date | null },
  heads: readonly KnownHead[],
  report: (finding: LedgerFinding) => void,
): Promise<BatchWalk> {
  const chains = new Set<string>()
  let batches = 0
  let last: { chainId: string; seq: number; hash: Buffer } | undefined
  let after: [string, number] | undefined
  for (;;) {
    const params: unknown[] = [range.since, range.until]
    const conditions = ['($1::timestamptz IS NULL OR issued_to >= $1)', '($2::timestamptz IS NULL OR issued_from < $2)']
    if (after) conditions.push(`(chain_id, seq) > ($${params.push(after[0])}::uuid, $${params.push(after[1])})`)
    const rows = await db.query<BatchRow>(
      `SELECT ${BATCH_SELECT} FROM ledger_batches WHERE ${conditions.join(' AND ')} ORDER BY chain_id, seq LIMIT ${PAGE}`,
      params,
    )
    for (const row of rows) {
      const seq = Number(row.seq)
      batches += 1
      chains.add(row.chain_id)
      if (!hashHolds(row)) report({ kind: 'batch-changed', chainId: row.chain_id, seq })
      const prev = last?.chainId === row.chain_id ? last : await batchBefore(db, row.chain_id, seq)
      checkLink(row, seq, prev, report)
      last = { chainId: row.chain_id, seq, hash: Buffer.from(row.batch_hash) }
    }
    if (rows.length < PAGE) break
    const tail = rows[rows.length - 1]
    if (tail !== undefined) after = [tail.chain_id, Number(tail.seq)]
  }
  for (const head of heads) await checkHead(db, head, report)
  return { chains: chains.size, batches }
}

/** Whether the batch's stored hash is its columns' hash, and its rows' hashes are what it says. */
function hashHolds(row: BatchRow): boolean {
  const hash = batchHash({
    chainId: row.chain_id,
    seq: Number(row.seq),
    prevHash: row.prev_hash === null ? null : Buffer.from(row.prev_hash),
    issuedFrom: row.issued_from,
    issuedTo: row.issued_to,
    committedAt: row.committed_at,
    rowCount: row.row_count,
    rowsHash: Buffer.from(row.rows_hash),
  })
  if (!hash.equals(Buffer.from(row.batch_hash))) return false
  // Cleared together once retention dropped the rows: the hashes above still hold the chain.
  if (row.jtis === null && row.row_hashes === null) return true
  if (row.jtis === null || row.row_hashes === null) return false
  const hashes = Buffer.from(row.row_hashes)
  const ordered = row.jtis.every((jti, i) => i === 0 || (row.jtis?.[i - 1] ?? '') < jti)
  return (
    ordered &&
    row.jtis.length === row.row_count &&
    hashes.length === row.row_count * ROW_HASH_BYTES &&
    rowsHash(hashes).equals(Buffer.from(row.rows_hash))
  )
}

/** The batch before `seq` in its chain that the database holds: `seq - 1`, or an older one past a gap. */
async function batchBefore(db: Queryable, chainId: string, seq: number): Promise<{ seq: number; hash: Buffer } | undefined> {
  if (seq === 1) return undefined
  const rows = await db.query<{ seq: string | number; batch_hash: Uint8Array }>(
    'SELECT seq, batch_hash FROM ledger_batches WHERE chain_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT 1',
    [chainId, seq],
  )
  const row = rows[0]
  return row === undefined ? undefined : { seq: Number(row.seq), hash: Buffer.from(row.batch_hash) }
}

function checkLink(row: BatchRow, seq: number, prev: { seq: number; hash: Buffer } | undefined, report: (f: LedgerFinding) => void): void {
  const chainId = row.chain_id
  const held = prev?.seq ?? 0
  if (seq > held + 1) report({ kind: 'batches-deleted', chainId, fromSeq: held + 1, toSeq: seq - 1 })
  const expected = seq === 1 ? null : seq === held + 1 ? (prev?.hash ?? null) : undefined
  // Past a gap, the batch before is gone: its hash cannot be compared (the gap is the finding).
  if (expected === undefined) return
  const linked = expected === null ? row.prev_hash === null : row.prev_hash !== null && expected.equals(Buffer.from(row.prev_hash))
  if (!linked) report({ kind: 'batch-unlinked', chainId, seq })
}

async function checkHead(db: Queryable, head: KnownHead, report: (f: LedgerFinding) => void): Promise<void> {
  const rows = await db.query<{ seq: string | number; batch_hash: Uint8Array | null; newest: string | number | null }>(
    `SELECT (SELECT max(seq) FROM ledger_batches WHERE chain_id = $1) AS newest,
            (SELECT batch_hash FROM ledger_batches WHERE chain_id = $1 AND seq = $2) AS batch_hash, $2::bigint AS seq`,
    [head.chainId, head.seq],
  )
  const row = rows[0]
  const newest = row?.newest === null || row?.newest === undefined ? null : Number(row.newest)
  if (newest === null || newest < head.seq) {
    report({ kind: 'chain-truncated', chainId: head.chainId, heldSeq: newest, anchoredSeq: head.seq })
  } else if (row?.batch_hash !== null && row?.batch_hash !== undefined && Buffer.from(row.batch_hash).toString('hex') !== head.batchHash) {
    // (An anchored batch gone from the middle of its chain is a gap, which the walk reports.)
    report({ kind: 'head-mismatch', chainId: head.chainId, seq: head.seq })
  }
}
