import pg from 'pg'
import t from 'tap'
import type { Queryable } from '../../src/db/database.js'
import { migrate, readMigrations } from '../../src/db/migrations.js'
import { createPostgresDatabase } from '../../src/db/postgres.js'
import { LedgerPartitions } from '../../src/ledger/ledger-partitions.js'
import { bytesPerRow, fillLedgerEntries, fillPreviousLedger, FLEET_MS_PER_TOKEN } from '../support/ledger-fill.js'
import { freshPostgresDatabase } from '../support/servers.js'

/**
 * What a ledger row costs on disk, table and indexes together, before migration 011 (one table, six
 * indexes) and after (partitions, four partition-local indexes), for the same realistic rows (about
 * 17 hours of a 1,000-pod organisation). Printed for the README; the test holds the cut to at least
 * 28 % (a third before the kid column) so that a change that undoes it is noticed.
 */
const ROWS = 200_000

t.test(`bytes per ledger row, before and after the partitioned ledger (${ROWS.toLocaleString('en')} rows)`, async (t) => {
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
  const fill = { rows: ROWS, newest, spreadMs: ROWS * FLEET_MS_PER_TOKEN }

  await migrate(
    db,
    readMigrations().filter((m) => m.version < '011'),
  )
  await fillPreviousLedger(raw, fill)
  await raw.query('VACUUM ANALYZE ledger')
  const before = await bytesPerRow(raw, 'ledger')

  await migrate(db)
  await new LedgerPartitions(db, 'day').ensureBetween(new Date(newest.getTime() - fill.spreadMs), newest)
  await fillLedgerEntries(raw, { ...fill, first: ROWS + 1 })
  await raw.query('VACUUM ANALYZE ledger_entries')
  const after = await bytesPerRow(raw, 'ledger_entries')

  t.comment(`bytes per row, table and indexes: ${before} before, ${after} after`)
  // 555 before the subject index took issued_at (so a busy subject's newest page stops early): its
  // keys are now all distinct, so B-tree deduplication no longer folds a subject's entries into one.
  // 699 before migration 016's kid column (issue 11): even NULL, as here, it gives every row a null
  // bitmap (about 19 bytes a row with alignment); a 43-character kid costs about 44 more. Storing a
  // small key number instead is the way back under 30 %.
  t.ok(after < before * 0.72, `${after} is at least 28 % less than ${before}`)
})
