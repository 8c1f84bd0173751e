import type { Queryable } from '../../db/database.js'

/** Batches compacted per statement: a short transaction each, under the pool's statement timeout. */
const COMPACTION_CHUNK = 5000

/**
 * Once ledger retention has dropped a period, the batches of the hash chain whose rows were all in it
 * keep their hashes (the chain still verifies, and a gap in it is still a deletion) but not their
 * rows' jtis and hashes, which would otherwise outlive the rows they describe: about 48 bytes a row.
 */
export class BatchCompaction {
  constructor(private readonly db: Queryable) {}

  /** Compacts what retention has dropped, a chunk at a time until done or `shouldStop`; answers how many batches. */
  async compact(shouldStop: () => boolean = () => false): Promise<number> {
    let compacted = 0
    for (;;) {
      const rows = await this.db.query<{ n: string | number }>(
        `WITH done AS (
           UPDATE ledger_batches SET jtis = NULL, row_hashes = NULL
            WHERE (chain_id, seq) IN (
              SELECT chain_id, seq FROM ledger_batches
               WHERE issued_to < (SELECT dropped_before FROM ledger_retention) AND jtis IS NOT NULL
               LIMIT ${COMPACTION_CHUNK})
           RETURNING 1)
         SELECT count(*) AS n FROM done`,
      )
      const n = Number(rows[0]?.n ?? 0)
      compacted += n
      if (n < COMPACTION_CHUNK || shouldStop()) return compacted
    }
  }
}
