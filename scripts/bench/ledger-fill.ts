import { performance } from 'node:perf_hooks'
import pg from 'pg'
import type { Queryable } from '../../src/db/database.js'
import { partitionOf, type LedgerPartition } from '../../src/ledger/ledger-partitions.js'
import { bytesPerRow, compactInsertSql, LEDGER_DICTIONARIES } from '../../test/support/ledger-fill.js'
import { firstRowAtOrAfter, issuedMs, rowsSql, type RowsSpan } from './ledger-rows.js'

/**
 * Fills the ledger straight in Postgres with `rows` tokens of the fleet (ledger-rows.ts),
 * ending now, while no service is running. The schema is the service's own (its migrations made
 * ledger_rows; its partition names and bounds come from src/ledger/ledger-partitions.ts), but the
 * rows go in the quick way: each day's partition is made as a plain table, filled by INSERT ...
 * SELECT generate_series over two connections, and only then attached, which builds its indexes
 * (the parent's four, by definition) in one pass each instead of row by row: a million rows took 30
 * to 45 s on two busy cores, so 10 million should take minutes, not the hour row by row would.
 *
 * An index built in one pass may be packed a little tighter than one grown insert by insert, so the
 * bytes per row measured here may be a little below what a ledger written by the service costs
 * (test/ledger/ledger-row-size.test.ts measures that one, at 200,000 rows).
 */

export interface LedgerFill {
  rows: number
  /** Table and indexes of every partition, per row, after VACUUM ANALYZE. */
  bytesPerRow: number
  /** Where the rows end: the fill's now. */
  newestMs: number
  seconds: number
}

const BATCH_ROWS = 250_000
const CONNECTIONS = 2

export async function fillLedger(
  databaseUrl: string,
  rows: number,
  maxTtlSeconds: number,
  say: (message: string) => void,
  /** The newest row's time: now, but for a test that wants the rows across a partition boundary. */
  newestMs = Date.now(),
): Promise<LedgerFill> {
  const started = performance.now()
  const clients = Array.from({ length: CONNECTIONS }, () => new pg.Client({ connectionString: databaseUrl }))
  await Promise.all(clients.map((client) => client.connect()))
  try {
    for (const client of clients) {
      // Sorting for the index builds in memory; the fill is redone on a crash, so no commit waits for the disk.
      await client.query("SET maintenance_work_mem = '512MB'")
      await client.query('SET synchronous_commit = off')
    }
    const [main] = clients
    await dropPartitions(main)
    const span: RowsSpan = { total: rows, newestMs, maxTtlSeconds }
    for (const partition of partitionsOf(span)) {
      const from = firstRowAtOrAfter(span, partition.from.getTime())
      const to = firstRowAtOrAfter(span, partition.to.getTime())
      await main.query(`CREATE TABLE ${partition.name} (LIKE ledger_rows)`)
      const inserting = performance.now()
      await insertInBatches(clients, partition.name, span, from, to)
      const attaching = performance.now()
      await main.query(
        `ALTER TABLE ledger_rows ATTACH PARTITION ${partition.name}
           FOR VALUES FROM ('${partition.from.toISOString()}') TO ('${partition.to.toISOString()}')`,
      )
      say(
        `ledger fill: ${partition.name}: ${(to - from).toLocaleString('en-US')} rows in ${seconds(attaching - inserting)} s, ` +
          `attached with its indexes in ${seconds(performance.now() - attaching)} s`,
      )
    }
    const vacuuming = performance.now()
    await main.query(`VACUUM ANALYZE ledger_rows, ${LEDGER_DICTIONARIES.join(', ')}`)
    // The fill's gigabytes written out now, not by a checkpoint inside the measured window.
    await main.query('CHECKPOINT')
    say(`ledger fill: VACUUM ANALYZE and CHECKPOINT in ${seconds(performance.now() - vacuuming)} s`)
    const bytes = await bytesPerRow(queryableOf(main), 'ledger_rows', LEDGER_DICTIONARIES)
    return { rows, bytesPerRow: bytes, newestMs: span.newestMs, seconds: (performance.now() - started) / 1000 }
  } finally {
    await Promise.all(clients.map((client) => client.end()))
  }
}

/**
 * The day partitions (the service's default interval, which the bench's configuration keeps) that
 * hold the span's rows, oldest first. The service makes the days ahead itself when it starts.
 */
export function partitionsOf(span: RowsSpan): LedgerPartition[] {
  const partitions: LedgerPartition[] = []
  const last = partitionOf(new Date(span.newestMs), 'day')
  for (let p = partitionOf(new Date(issuedMs(span, 0)), 'day'); p.from <= last.from; p = partitionOf(p.to, 'day')) partitions.push(p)
  return partitions
}

/**
 * Every partition goes, the ones migrations and earlier sizes made included (of the table of before
 * migration 023 too): the ledger starts empty.
 */
async function dropPartitions(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent IN ('ledger_rows'::regclass, 'ledger_text_rows'::regclass)`,
  )
  for (const { name } of rows) await client.query(`DROP TABLE ${pg.escapeIdentifier(name)}`)
}

/**
 * Rows [from, to) into `table` as the compact rows the service writes, in batches shared out over the
 * connections: each batch is made once into a temporary table of the connection's own, its subjects
 * and sources numbered from there, then written with their numbers.
 */
async function insertInBatches(clients: pg.Client[], table: string, span: RowsSpan, from: number, to: number): Promise<void> {
  let next = from
  await Promise.all(
    clients.map(async (client) => {
      await client.query(`CREATE TEMP TABLE IF NOT EXISTS fill_batch AS ${rowsSql(span, 0, 0)} WITH NO DATA`)
      while (next < to) {
        // Both ends taken now: `next` moves on while this connection waits.
        const start = next
        const end = Math.min(to, start + BATCH_ROWS)
        next = end
        await client.query('TRUNCATE fill_batch')
        await client.query(`INSERT INTO fill_batch ${rowsSql(span, start, end)}`)
        for (const statement of compactInsertSql(table, 'fill_batch')) await client.query(statement)
      }
    }),
  )
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1)
}

function queryableOf(client: pg.Client): Queryable {
  return {
    query: async <Row>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as Row[],
    exec: async (sql) => void (await client.query(sql)),
  }
}
