import type { Logger } from 'pino'
import { ADVISORY_LOCKS } from '../db/advisory-locks.js'
import type { Database, Queryable } from '../db/database.js'
import { systemClock, type Clock } from '../lib/clock.js'
import type { LedgerPartitions } from './ledger-partitions.js'

const DAY_MS = 86_400_000

/** What retention keeps, so the move does not write what retention would drop at once. */
export interface LegacyMoveRetention {
  /** `ledger.retentionDays`; 0 keeps everything. */
  retentionDays: number
  clock: Clock
}

/** One instance at a time moves rows (the others would only wait on the same rows). */
const MOVE_LOCK_ID = ADVISORY_LOCKS.legacyLedgerMove

/** The legacy row in the partitions' types: the same conversion as migration 011's view and trigger. */
const MOVED_COLUMNS =
  'issued_at, expires_at, jti::uuid, subject, attestor, attestor_kind, ledger_fingerprint_bytes(attestation_fingerprint), ' +
  'sources, audience, scopes, grant_ids, client_address, request_id'
const ENTRY_COLUMNS =
  'issued_at, expires_at, jti, subject, attestor, attestor_kind, attestation_fingerprint, sources, audience, scopes, grant_ids, client_address, request_id'

interface Position {
  issuedAt: Date
  jti: string
}

export interface LegacyMoveResult {
  moved: number
  /** Rows past retention (issued before it and expired, or before what it dropped): deleted, not moved. */
  deleted: number
  /** The legacy table is empty: nothing is left to move. */
  done: boolean
}

/**
 * The background half of migration 011: moves the rows of the unpartitioned ledger of the release
 * before (ledger_legacy) into the partitions, a batch at a time, each batch one statement (delete and
 * insert together, so a reader sees a row in one place or the other, never both or neither). Each
 * batch locks only the legacy rows it moves, so issuance, which writes to the partitions, never waits
 * for it. Rows retention would drop at once (issued before it and expired, or before what it has
 * dropped already) are deleted instead, so the move never fills, nor creates again, a partition
 * retention is done with. Resumes where the table stands after a restart; safe to start on every instance.
 */
export class LegacyLedgerMove {
  private finished = false

  constructor(
    private readonly db: Database,
    private readonly partitions: LedgerPartitions,
    private readonly logger: Pick<Logger, 'info'>,
    private readonly batchSize = 2000,
    private readonly retention: LegacyMoveRetention = { retentionDays: 0, clock: systemClock },
  ) {}

  /**
   * The issued_at of the oldest row still to move (the previous release's index on issued_at answers
   * it): retention keeps every partition from there on, which the move has yet to fill. Undefined
   * once the move is done.
   */
  async oldestUnmoved(): Promise<Date | undefined> {
    if (this.finished) return undefined
    const [row] = await this.db.query<{ oldest: Date | null }>('SELECT min(issued_at) AS oldest FROM ledger_legacy')
    return row?.oldest == null ? undefined : new Date(row.oldest)
  }

  /**
   * Moves up to `maxBatches` batches (all of them when unbounded), stopping early when `stopped()`
   * says so. Another instance moving already: answers at once with nothing moved.
   */
  async run(maxBatches = Number.POSITIVE_INFINITY, stopped: () => boolean = () => false): Promise<LegacyMoveResult> {
    if (this.finished) return { moved: 0, deleted: 0, done: true }
    return this.db.withConnection(async (conn) => {
      const [lock] = await conn.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [MOVE_LOCK_ID])
      if (lock?.locked !== true) return { moved: 0, deleted: 0, done: false }
      try {
        let moved = 0
        let deleted = 0
        let after: Position | undefined
        for (let batch = 0; batch < maxBatches && !stopped(); batch++) {
          const next = await this.moveBatch(conn, after)
          if (next === undefined) {
            this.finished = true
            if (moved + deleted > 0)
              this.logger.info(
                { moved, deleted },
                'the ledger of the previous release is empty: every row is in the partitions or was past retention',
              )
            return { moved, deleted, done: true }
          }
          moved += next.moved
          deleted += next.deleted
          after = next.last
        }
        if (moved + deleted > 0)
          this.logger.info({ moved, deleted }, 'moved rows of the previous release into the ledger partitions; the move goes on')
        return { moved, deleted, done: false }
      } finally {
        await conn.query('SELECT pg_advisory_unlock($1)', [MOVE_LOCK_ID])
      }
    })
  }

  /**
   * One batch after `after`, oldest first (the previous release's (issued_at, jti) index, so deleted rows
   * are never scanned again and the partitions fill in order); undefined when none is left. The rows are
   * deleted by their place in the table: nothing is written to ledger_legacy any more (the `ledger`
   * view sends a previous replica's inserts to the partitions), so a place cannot change hands, and
   * the jti is checked all the same. One statement deletes the rows past retention and moves the others.
   */
  private async moveBatch(
    conn: Queryable,
    after: Position | undefined,
  ): Promise<{ moved: number; deleted: number; last: Position } | undefined> {
    const now = new Date(this.retention.clock.now())
    const keepFrom = this.retention.retentionDays === 0 ? null : new Date(now.getTime() - this.retention.retentionDays * DAY_MS)
    const batch = await conn.query<{ place: string; jti: string; issued_at: Date; past: boolean }>(
      `SELECT ctid::text AS place, jti, issued_at,
              coalesce(issued_at < $4 AND expires_at <= $5, false)
                OR coalesce(issued_at < (SELECT dropped_before FROM ledger_retention), false) AS past
         FROM ledger_legacy
        WHERE ($1::timestamptz IS NULL OR (issued_at, jti) > ($1, $2)) ORDER BY issued_at, jti LIMIT $3`,
      [after?.issuedAt ?? null, after?.jti ?? '', this.batchSize, keepFrom, now],
    )
    const last = batch.at(-1)
    if (last === undefined) return undefined
    const moving = batch.filter((row) => !row.past)
    const past = batch.filter((row) => row.past)
    await this.partitions.ensureCovering(moving.map((row) => new Date(row.issued_at)))
    const [counts] = await conn.query<{ moved: number; deleted: number }>(
      `WITH gone AS (DELETE FROM ledger_legacy WHERE ctid = ANY($3::tid[]) AND jti = ANY($4::text[]) RETURNING 1),
            moved AS (DELETE FROM ledger_legacy WHERE ctid = ANY($1::tid[]) AND jti = ANY($2::text[]) RETURNING *),
            inserted AS (INSERT INTO ledger_entries (${ENTRY_COLUMNS}) SELECT ${MOVED_COLUMNS} FROM moved RETURNING 1)
       SELECT (SELECT count(*)::int FROM inserted) AS moved, (SELECT count(*)::int FROM gone) AS deleted`,
      [moving.map((row) => row.place), moving.map((row) => row.jti), past.map((row) => row.place), past.map((row) => row.jti)],
    )
    return {
      moved: counts?.moved ?? 0,
      deleted: counts?.deleted ?? 0,
      last: { issuedAt: new Date(last.issued_at), jti: last.jti },
    }
  }
}
