import { ADVISORY_LOCKS } from '../db/advisory-locks.js'
import type { Database, Queryable } from '../db/database.js'
import { sqlStateOf } from '../db/sql-state.js'

/**
 * The partitions of ledger_rows: one per UTC day (or hour), named after the period it holds, so the
 * name alone says its bounds (ledger_rows_d20261129, ledger_rows_h2026112913). Only the service
 * creates and drops them; migration 023 created the first few with the same names. The partitions of
 * ledger_text_rows (the table of before migration 023, named ledger_entries_d... by migration 011 and
 * the releases before) are only ever dropped, by retention.
 */

export type PartitionInterval = 'day' | 'hour'

export interface LedgerPartition {
  name: string
  /** Inclusive. */
  from: Date
  /** Exclusive. */
  to: Date
}

const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000
const NAME = /^ledger_(?:rows|entries)_(?:d(\d{4})(\d{2})(\d{2})|h(\d{4})(\d{2})(\d{2})(\d{2}))$/
/** The partitioned table the service writes, and the one of before migration 023 that retention empties. */
const WRITTEN = 'ledger_rows'
const TEXT_ROWS = 'ledger_text_rows'

/** A live-token scan of a whole partition may take this long (the pool's statement_timeout is 5 s). */
const LIVE_TOKEN_SCAN_TIMEOUT = '10min'

/** Every instance creates partitions under the same transaction-level advisory lock. */
const PARTITION_LOCK_ID = ADVISORY_LOCKS.ledgerPartitions

/** The partition of `interval` that holds `instant`. */
export function partitionOf(instant: Date, interval: PartitionInterval): LedgerPartition {
  const size = interval === 'day' ? DAY_MS : HOUR_MS
  const from = new Date(Math.floor(instant.getTime() / size) * size)
  const stamp = from.toISOString().replace(/[-T:]/g, '')
  const name = interval === 'day' ? `${WRITTEN}_d${stamp.slice(0, 8)}` : `${WRITTEN}_h${stamp.slice(0, 10)}`
  return { name, from, to: new Date(from.getTime() + size) }
}

/** The bounds a partition's name says; undefined for a table the service did not name. */
export function partitionNamed(name: string): LedgerPartition | undefined {
  const match = NAME.exec(name)
  if (!match) return undefined
  const [year, month, day, hour] = (match[1] === undefined ? match.slice(4, 8) : match.slice(1, 4)).map(Number)
  const start = new Date(Date.UTC(year ?? 0, (month ?? 1) - 1, day, hour ?? 0))
  return { ...partitionOf(start, match[1] === undefined ? 'hour' : 'day'), name }
}

/**
 * Postgres's answer to a row no partition of ledger_rows holds ("no partition of relation ... found
 * for row", in the server's language): a check_violation on the table that names no constraint, where
 * a CHECK constraint's violation names its own. Postgres and PGlite alike.
 */
export function isMissingPartition(error: unknown): boolean {
  const { code, table, constraint } = (error ?? {}) as { code?: unknown; table?: unknown; constraint?: unknown }
  return code === '23514' && table === WRITTEN && constraint === undefined
}

function overlaps(a: LedgerPartition, b: LedgerPartition): boolean {
  return a.from < b.to && b.from < a.to
}

export class LedgerPartitions {
  constructor(
    private readonly db: Database,
    readonly interval: PartitionInterval,
  ) {}

  /** The partitions there are, oldest first: of the table written, and with `textRows` of the one of before 023 too. */
  async list(db: Queryable = this.db, { textRows = false }: { textRows?: boolean } = {}): Promise<LedgerPartition[]> {
    const parents = textRows ? [WRITTEN, TEXT_ROWS] : [WRITTEN]
    const rows = await db.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = ANY($1::regclass[])`,
      [parents],
    )
    return rows
      .map((row) => partitionNamed(row.name))
      .filter((p): p is LedgerPartition => p !== undefined)
      .sort((a, b) => a.from.getTime() - b.from.getTime())
  }

  /** Partitions for every period from the one holding `from` to the one holding `to`; answers the names it created. */
  ensureBetween(from: Date, to: Date): Promise<string[]> {
    const step = this.interval === 'day' ? DAY_MS : HOUR_MS
    const instants: Date[] = []
    for (let at = partitionOf(from, this.interval).from.getTime(); at <= to.getTime(); at += step) instants.push(new Date(at))
    return this.ensureCovering(instants)
  }

  /**
   * A partition for each of `instants`, created where none holds it yet; answers the names created.
   * Safe to run from several instances at once (an advisory lock, and a look at what exists under
   * it), and it never blocks writes: the table is created on its own, then attached, which takes a
   * lock that inserts do not wait for.
   */
  async ensureCovering(instants: readonly Date[]): Promise<string[]> {
    const wanted = new Map(instants.map((at) => partitionOf(at, this.interval)).map((p) => [p.name, p]))
    if (wanted.size === 0) return []
    return this.db.transaction(async (tx) => {
      await tx.query("SET LOCAL lock_timeout = '1s'")
      await tx.query('SELECT pg_advisory_xact_lock($1)', [PARTITION_LOCK_ID])
      const existing = await this.list(tx)
      const created: string[] = []
      for (const partition of [...wanted.values()].flatMap((p) => this.fitting(p, existing))) {
        await tx.query(`CREATE TABLE ${partition.name} (LIKE ${WRITTEN})`)
        await tx.query(
          `ALTER TABLE ${WRITTEN} ATTACH PARTITION ${partition.name}
             FOR VALUES FROM ('${partition.from.toISOString()}') TO ('${partition.to.toISOString()}')`,
        )
        existing.push(partition)
        created.push(partition.name)
      }
      return created
    })
  }

  /**
   * Drops a whole partition for retention: its rows go at once, with no row-by-row delete, and in the
   * same transaction the ledger notes that nothing before its end is kept (a search cursor pointing
   * there is then answered 410 Gone, never with a silent gap) and records the drop with the batches
   * of the hash chain that had rows in it (ledger_partition_drops). Waits at most half a second for the
   * table (a drop locks the partitioned table), so inserts queued behind it never wait longer; answers
   * false when it could not have it, to try again later.
   */
  async drop(partition: LedgerPartition): Promise<boolean> {
    // Counted before the drop's transaction, so its lock is held no longer: the period is past, and its batches are all written.
    const held = await this.db.query<{ batches: string | number; batch_rows: string | number | null }>(
      `SELECT count(*) AS batches, sum(row_count) FILTER (WHERE issued_from >= $1 AND issued_to < $2) AS batch_rows
         FROM ledger_batches WHERE issued_to >= $1 AND issued_from < $2`,
      [partition.from, partition.to],
    )
    try {
      await this.db.transaction(async (tx) => {
        await tx.query("SET LOCAL lock_timeout = '500ms'")
        // What verification (src/ledger/chain/ledger-verifier.ts) tells apart from rows deleted outside the service.
        await tx.query(
          `INSERT INTO ledger_partition_drops (partition, period_from, period_to, dropped_at, batches, batch_rows)
           VALUES ($1, $2, $3, now(), $4, $5) ON CONFLICT (partition) DO NOTHING`,
          [partition.name, partition.from, partition.to, Number(held[0]?.batches ?? 0), Number(held[0]?.batch_rows ?? 0)],
        )
        await tx.query(
          `INSERT INTO ledger_retention (dropped_before) VALUES ($1)
           ON CONFLICT (singleton) DO UPDATE SET dropped_before = greatest(ledger_retention.dropped_before, excluded.dropped_before)`,
          [partition.to],
        )
        await tx.query(`DROP TABLE IF EXISTS ${partition.name}`)
      })
      return true
    } catch (error) {
      if (sqlStateOf(error) === '55P03') return false
      throw error
    }
  }

  /**
   * Whether a token in `partition` is still unexpired at `now`, by reading it: a whole partition has
   * no index on expires_at, so it runs under its own statement timeout (not the pool's), in the
   * background maintenance only, and only for the partitions that may hold the previous release's
   * tokens (LedgerRetention says which).
   */
  async holdsLiveTokens(partition: LedgerPartition, now: Date): Promise<boolean> {
    try {
      return await this.db.transaction(async (tx) => {
        await tx.query(`SET LOCAL statement_timeout = '${LIVE_TOKEN_SCAN_TIMEOUT}'`)
        const rows = await tx.query<{ live: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${partition.name} WHERE expires_at > $1) AS live`, [
          now,
        ])
        return rows.at(0)?.live === true
      })
    } catch (error) {
      // Another instance's retention dropped it since it was listed: nothing live in it, then.
      if (sqlStateOf(error) === '42P01') return false
      throw error
    }
  }

  /**
   * When migration 011 made the partitions: a partition of a period before it (plus a day for the
   * rolling restart, when the previous release's replicas still write through the `ledger` view) may
   * hold tokens of the previous release, whose lifetimes nothing capped. Undefined without it (a
   * database this release did not migrate).
   */
  async partitionedSince(): Promise<Date | undefined> {
    const rows = await this.db.query<{ applied_at: Date }>(
      "SELECT applied_at FROM schema_migrations WHERE version = '011_ledger_partitions'",
    )
    const at = rows.at(0)?.applied_at
    return at === undefined ? undefined : new Date(at)
  }

  /**
   * What to create for `partition` beside `existing`: nothing if one already holds its period, and
   * where the interval changed (day to hour or back) only the hours no existing partition holds.
   */
  private fitting(partition: LedgerPartition, existing: readonly LedgerPartition[]): LedgerPartition[] {
    const clashing = existing.filter((other) => overlaps(other, partition))
    if (clashing.length === 0) return [partition]
    if (this.interval === 'hour' || clashing.some((other) => other.from <= partition.from && other.to >= partition.to)) return []
    const hours: LedgerPartition[] = []
    for (let at = partition.from.getTime(); at < partition.to.getTime(); at += HOUR_MS) {
      const hour = partitionOf(new Date(at), 'hour')
      if (!clashing.some((other) => overlaps(other, hour))) hours.push(hour)
    }
    return hours
  }
}
