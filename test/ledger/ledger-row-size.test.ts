import pg from 'pg'
import t from 'tap'
import type { Queryable } from '../../src/db/database.js'
import { migrate, readMigrations } from '../../src/db/migrations.js'
import { createPostgresDatabase } from '../../src/db/postgres.js'
import { LedgerPartitions, partitionOf } from '../../src/ledger/ledger-partitions.js'
import {
  bytesPerRow,
  fillLedgerEntries,
  fillPreviousLedger,
  fillTextRows,
  FLEET_MS_PER_TOKEN,
  LEDGER_DICTIONARIES,
} from '../support/ledger-fill.js'
import { freshPostgresDatabase } from '../support/servers.js'

/**
 * What a ledger row costs on disk, table and indexes together, in each shape the ledger has had, for
 * the same realistic rows (about 17 hours of a 1,000-pod organisation): one table with six indexes
 * (before migration 011), partitions with partition-local indexes (011 to 022), and compact rows whose
 * subject and sources are numbers in dictionaries (023, the dictionaries counted in). Printed for the
 * README; the test holds each cut so that a change that undoes one is noticed.
 */
const ROWS = 200_000

t.test(`bytes per ledger row in each of its shapes (${ROWS.toLocaleString('en')} rows)`, async (t) => {
  const url = await freshPostgresDatabase(t)
  const db = createPostgresDatabase({ url, poolSize: 2 })
  const bulk = new pg.Client({ connectionString: url })
  await bulk.connect()
  t.teardown(async () => {
    await bulk.end()
    await db.close()
  })
  const raw: Queryable = {
    query: async (sql, params) => (await bulk.query(sql, params)).rows,
    exec: async (sql) => void (await bulk.query(sql)),
  }
  const newest = new Date(Date.UTC(2030, 0, 10))
  const oldest = new Date(newest.getTime() - ROWS * FLEET_MS_PER_TOKEN)
  const fill = { rows: ROWS, newest, spreadMs: ROWS * FLEET_MS_PER_TOKEN }

  await migrate(
    db,
    readMigrations().filter((m) => m.version < '011'),
  )
  await fillPreviousLedger(raw, fill)
  await raw.query('VACUUM ANALYZE ledger')
  const unpartitioned = await bytesPerRow(raw, 'ledger')

  await migrate(db)
  // The same days in the table of before 023, made as migration 011 made its partitions.
  for (let day = partitionOf(oldest, 'day'); day.from <= newest; day = partitionOf(day.to, 'day')) {
    await raw.query(
      `CREATE TABLE ${day.name.replace('ledger_rows_', 'ledger_entries_')} PARTITION OF ledger_text_rows
         FOR VALUES FROM ('${day.from.toISOString()}') TO ('${day.to.toISOString()}')`,
    )
  }
  await fillTextRows(raw, { ...fill, first: ROWS + 1 })
  await raw.query('VACUUM ANALYZE ledger_text_rows')
  const partitioned = await bytesPerRow(raw, 'ledger_text_rows')

  await new LedgerPartitions(db, 'day').ensureBetween(oldest, newest)
  await fillLedgerEntries(raw, { ...fill, first: 2 * ROWS + 1 })
  await raw.query('VACUUM ANALYZE ledger_rows')
  const compact = await bytesPerRow(raw, 'ledger_rows', LEDGER_DICTIONARIES)

  t.comment(`bytes per row, table and indexes: ${unpartitioned} unpartitioned, ${partitioned} partitioned, ${compact} compact`)
  // 555 before the subject index took issued_at (so a busy subject's newest page stops early): its
  // keys are now all distinct, so B-tree deduplication no longer folds a subject's entries into one.
  // 699 before migration 016's kid column (issue 11): even NULL, as here, it gives every row a null
  // bitmap (about 19 bytes a row with alignment).
  t.ok(partitioned < unpartitioned * 0.72, `partitioned: ${partitioned} is at least 28 % less than ${unpartitioned}`)
  // The subject (and its index entry) and the sources as numbers, the request id as a uuid.
  t.ok(compact < partitioned * 0.72, `compact: ${compact} is at least 28 % less than ${partitioned}`)
})
