import type { Queryable } from '../../db/database.js'
import { storeFailure } from '../../errors.js'
import { ROLLING_RESTART_MS } from '../ledger-retention.js'
import { MAX_LISTED_FINDINGS, type KnownHead, type LedgerFinding, type LedgerVerification, type RetentionDrop } from './verification.js'
import { walkBatches } from './verify-batches.js'
import { walkRows } from './verify-rows.js'

export interface VerifyRequest {
  /** Batches and rows issued at or after this. */
  since?: Date
  /** Batches and rows issued before this. */
  until?: Date
  /** Chain heads anchored outside the database: each must still be there, with its hash. */
  heads?: readonly KnownHead[]
}

/**
 * `sts ledger verify`: walks every chain of the ledger (README, "Tamper evidence"). Reads only:
 * the batches by their chain's order, the rows in issue order a page at a time, so its memory stays
 * bounded by a page and the batches open across it; `since` and `until` bound the work.
 */
export class LedgerVerifier {
  constructor(private readonly db: Queryable) {}

  async verify(request: VerifyRequest = {}): Promise<LedgerVerification> {
    try {
      return await this.walk(request)
    } catch (error) {
      throw storeFailure('the token ledger cannot be read', error, 'ledger_unavailable')
    }
  }

  private async walk(request: VerifyRequest): Promise<LedgerVerification> {
    const findings: LedgerFinding[] = []
    let findingCount = 0
    const report = (finding: LedgerFinding): void => {
      findingCount += 1
      if (findings.length < MAX_LISTED_FINDINGS) findings.push(finding)
    }
    const since = request.since ?? null
    const until = request.until ?? null
    const drops = await this.drops()
    const chainedSince = await this.chainedSince()
    const chainedUntil = chainedSince === null ? null : new Date(chainedSince.getTime() + ROLLING_RESTART_MS)
    const batches = await walkBatches(this.db, { since, until }, request.heads ?? [], report)
    const rows = await walkRows(
      this.db,
      {
        since,
        until,
        chainedSince,
        chainedUntil,
        dropped: drops.map((drop) => ({ from: new Date(drop.from), to: new Date(drop.to) })),
      },
      report,
    )
    return {
      intact: findingCount === 0,
      range: { since: since?.toISOString() ?? null, until: until?.toISOString() ?? null },
      checked: { chains: batches.chains, batches: batches.batches, rows: rows.rows },
      findings,
      findingCount,
      retention: { drops, batches: rows.retentionBatches, rows: rows.retentionRows },
      unchained: {
        rows: rows.unchained,
        chainedSince: chainedSince?.toISOString() ?? null,
        chainedUntil: chainedUntil?.toISOString() ?? null,
      },
    }
  }

  private async drops(): Promise<RetentionDrop[]> {
    const rows = await this.db.query<{
      partition: string
      period_from: Date
      period_to: Date
      dropped_at: Date
      batches: string | number
      batch_rows: string | number
    }>('SELECT partition, period_from, period_to, dropped_at, batches, batch_rows FROM ledger_partition_drops ORDER BY period_from')
    return rows.map((row) => ({
      partition: row.partition,
      from: new Date(row.period_from).toISOString(),
      to: new Date(row.period_to).toISOString(),
      droppedAt: new Date(row.dropped_at).toISOString(),
      batches: Number(row.batches),
      batchRows: Number(row.batch_rows),
    }))
  }

  /** When the chain's migration ran: rows issued before it were never chained. */
  private async chainedSince(): Promise<Date | null> {
    // By its name, not its number: the number may change as releases are merged.
    const rows = await this.db.query<{ applied_at: Date }>(
      "SELECT applied_at FROM schema_migrations WHERE version LIKE '%\\_ledger\\_chain' ORDER BY applied_at LIMIT 1",
    )
    const at = rows[0]?.applied_at
    return at === undefined ? null : new Date(at)
  }
}
