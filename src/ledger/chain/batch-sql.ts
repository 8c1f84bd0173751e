import type { SealedBatch } from './ledger-chains.js'

/** The columns of ledger_batches a writer sets, in the order insertBatchSql binds them. */
const BATCH_COLUMNS = 'chain_id, seq, issued_from, issued_to, committed_at, row_count, prev_hash, rows_hash, batch_hash, jtis, row_hashes'

/**
 * `WITH batch AS (INSERT INTO ledger_batches ...) ` to put before the INSERT of the batch's rows: one
 * statement writes both, so the batch costs no round trip, and neither is ever written without the
 * other. Its values are pushed onto `params`, numbered after those already there.
 */
export function insertBatchSql(batch: SealedBatch, params: unknown[]): string {
  const values = [
    batch.chainId,
    batch.seq,
    batch.issuedFrom,
    batch.issuedTo,
    batch.committedAt,
    batch.rowCount,
    batch.prevHash,
    batch.rowsHash,
    batch.batchHash,
    batch.jtis,
    batch.rowHashes,
  ]
  const placeholders = values.map((value, i) => `$${params.push(value)}${i === 9 ? '::uuid[]' : ''}`)
  return `WITH batch AS (INSERT INTO ledger_batches (${BATCH_COLUMNS}) VALUES (${placeholders.join(', ')})) `
}
