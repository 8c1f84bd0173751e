import t from 'tap'
import { createPGliteDatabase } from '../../src/db/pglite.js'
import { INVENTORY_DAILY_RETENTION_DAYS } from '../../src/inventory/identity-inventory.js'
import { SqlIdentityInventory } from '../../src/inventory/sql-identity-inventory.js'
import { migrate } from '../../src/db/migrations.js'
import { LegacyLedgerMove } from '../../src/ledger/legacy-ledger-move.js'
import { LedgerMaintenance } from '../../src/ledger/ledger-maintenance.js'
import { LedgerPartitions } from '../../src/ledger/ledger-partitions.js'
import { LedgerRetention } from '../../src/ledger/ledger-retention.js'
import { FixedClock } from '../../src/lib/clock.js'
import { createLogger } from '../../src/lib/logger.js'
import { eventually } from '../support/eventually.js'
import { fillPreviousLedger } from '../support/ledger-fill.js'
import { inventoryRecorder, ledgerEntry, sqlLedgerStoreWithInventory } from '../support/ledger.js'

const DAY = 86_400_000
const NOW = Date.UTC(2030, 3, 10, 15)

t.test('the upkeep: partitions two days ahead, retention, and the move, at start and on its timer', async (t) => {
  const db = await createPGliteDatabase()
  t.teardown(() => db.close())
  await migrate(db)
  const clock = new FixedClock(NOW)
  const logger = createLogger('silent')
  const partitions = new LedgerPartitions(db, 'day')
  // A token of the previous release, 100 days old: moved, then dropped by retention at the next run.
  await fillPreviousLedger(db, { rows: 1, newest: new Date(NOW - 100 * DAY), spreadMs: 0 }, 'ledger_legacy')
  const maintenance = new LedgerMaintenance({
    partitions,
    retention: new LedgerRetention(partitions, 90, logger),
    legacyMove: new LegacyLedgerMove(db, partitions, logger),
    clock,
    logger,
    intervalMs: 10,
  })
  const ours = async () => (await partitions.list()).map((p) => p.name).filter((name) => name >= 'ledger_rows_d2029')

  t.same(await maintenance.createAhead(), ['ledger_rows_d20300410', 'ledger_rows_d20300411', 'ledger_rows_d20300412'])
  await maintenance.runOnce()
  t.same(await ours(), ['ledger_rows_d20291231', 'ledger_rows_d20300410', 'ledger_rows_d20300411', 'ledger_rows_d20300412'])
  t.same(await db.query('SELECT count(*)::int AS n FROM ledger_legacy'), [{ n: 0 }], 'the legacy row moved')

  clock.advance(2 * DAY)
  maintenance.start()
  t.teardown(() => maintenance.stop())
  t.ok(
    await eventually(
      t,
      async () =>
        (await ours()).join() === ['d20300410', 'd20300411', 'd20300412', 'd20300413', 'd20300414'].map((d) => `ledger_rows_${d}`).join(),
    ),
    'on its timer: two more days ahead, and the 100-day-old partition dropped',
  )
  await maintenance.stop()
})

t.test('a part that fails is logged and the others still run', async (t) => {
  const db = await createPGliteDatabase()
  t.teardown(() => db.close())
  await migrate(db)
  const clock = new FixedClock(NOW)
  const lines: string[] = []
  const logger = createLogger('info', { write: (line: string) => lines.push(line) })
  const partitions = new LedgerPartitions(db, 'day')
  await fillPreviousLedger(db, { rows: 3, newest: new Date(NOW - DAY), spreadMs: 1000 }, 'ledger_legacy')
  // The outside failing: a statement cancelled by the database's statement_timeout.
  const timingOut = { apply: () => Promise.reject(new Error('canceling statement due to statement timeout')) }
  const maintenance = new LedgerMaintenance({
    partitions,
    retention: timingOut,
    legacyMove: new LegacyLedgerMove(db, partitions, logger),
    clock,
    logger,
    intervalMs: 3_600_000,
  })
  await maintenance.runOnce()
  t.same(
    lines.map((line) => (JSON.parse(line) as { level: number; msg: string }).msg),
    [
      'ledger partitions created ahead of time',
      'ledger retention failed; trying again at the next interval',
      'the ledger of the previous release is empty: every row is in the partitions or was past retention',
    ],
  )
  t.same(await db.query('SELECT count(*)::int AS n FROM ledger_legacy'), [{ n: 0 }], 'the move went on')
  t.same(await db.query('SELECT count(*)::int AS n FROM ledger_entries'), [{ n: 3 }])
})

t.test("the roll-ups' own retention: the inventory's daily counts older than it are pruned, the identity stays", async (t) => {
  const db = await createPGliteDatabase()
  t.teardown(() => db.close())
  await migrate(db)
  const clock = new FixedClock(NOW)
  const logger = createLogger('silent')
  const partitions = new LedgerPartitions(db, 'day')
  const inventory = new SqlIdentityInventory(db)
  const subject = 'spiffe://example.org/k8s/prod/ns/payments/sa/api'
  const recorder = inventoryRecorder(db)
  const store = sqlLedgerStoreWithInventory(db, recorder)
  // 401 days ago, 400 days ago (the first day kept), and today.
  for (const daysAgo of [401, 400, 0]) await store.recordMany([ledgerEntry(NOW - daysAgo * DAY, { subject })])
  await recorder.flush()
  const maintenance = new LedgerMaintenance({
    partitions,
    retention: new LedgerRetention(partitions, 0, logger),
    legacyMove: new LegacyLedgerMove(db, partitions, logger),
    rollupRetention: { retentionDays: INVENTORY_DAILY_RETENTION_DAYS, prune: (before) => inventory.pruneDailyCounts(before) },
    clock,
    logger,
    intervalMs: 60_000,
  })
  await maintenance.runOnce()
  t.same((await inventory.get(subject))?.dailyTokens, [
    { day: '2029-03-06', tokens: 1 },
    { day: '2030-04-10', tokens: 1 },
  ])
  t.equal((await inventory.get(subject))?.firstSeen.getTime(), NOW - 401 * DAY)
})
