import t from 'tap'
import { createPostgresDatabase } from '../../src/db/postgres.js'
import { migrate } from '../../src/db/migrations.js'
import { LedgerPartitions, partitionNamed, partitionOf } from '../../src/ledger/ledger-partitions.js'
import { SqlLedgerStore } from '../../src/ledger/sql-ledger-store.js'
import { BACKENDS } from '../support/databases.js'
import { ledgerEntry } from '../support/ledger.js'
import { freshPostgresDatabase } from '../support/servers.js'

const DAY = 86_400_000
const HOUR = 3_600_000
const T0 = Date.UTC(2030, 10, 29, 13, 45, 12, 345)
const names = (partitions: { name: string }[]) => partitions.map((p) => p.name)

t.test('a partition is named after the UTC day or hour it holds, and its name says its bounds', async (t) => {
  t.same(partitionOf(new Date(T0), 'day'), {
    name: 'ledger_rows_d20301129',
    from: new Date(Date.UTC(2030, 10, 29)),
    to: new Date(Date.UTC(2030, 10, 30)),
  })
  t.same(partitionOf(new Date(T0), 'hour'), {
    name: 'ledger_rows_h2030112913',
    from: new Date(Date.UTC(2030, 10, 29, 13)),
    to: new Date(Date.UTC(2030, 10, 29, 14)),
  })
  t.same(partitionOf(new Date(Date.UTC(2026, 11, 31, 23, 59, 59, 999)), 'day').to, new Date(Date.UTC(2027, 0, 1)), 'the last day of a year')
  for (const interval of ['day', 'hour'] as const) {
    const partition = partitionOf(new Date(T0), interval)
    t.same(partitionNamed(partition.name), partition, `${interval}: the name reads back`)
  }
  t.same(
    ['ledger_entries', 'ledger_legacy', 'ledger_rows_d2026112', 'ledger_entries_x20261129', 'ledger_rows_d20261129_pkey'].map(
      partitionNamed,
    ),
    [undefined, undefined, undefined, undefined, undefined],
  )
})

const entry = ledgerEntry

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`ledger partitions on ${backend}`, async (t) => {
    const db = await open(t)
    const partitions = new LedgerPartitions(db, 'day')

    await t.test('the migration made the days around the moment it ran, so a previous replica can write at once', async (t) => {
      const today = Date.now()
      const existing = names(await partitions.list())
      for (const offset of [-1, 0, 1, 2]) t.ok(existing.includes(partitionOf(new Date(today + offset * DAY), 'day').name), `day ${offset}`)
    })

    await t.test('partitions ahead of time: each period once, however often it runs', async (t) => {
      const created = await partitions.ensureBetween(new Date(T0), new Date(T0 + 2 * DAY))
      t.same(created, ['ledger_rows_d20301129', 'ledger_rows_d20301130', 'ledger_rows_d20301201'])
      t.same(await partitions.ensureBetween(new Date(T0), new Date(T0 + 2 * DAY)), [], 'a second run creates nothing')
      const listed = names(await partitions.list())
      t.equal(new Set(listed).size, listed.length, 'no name twice')
      t.ok(['ledger_rows_d20301129', 'ledger_rows_d20301130', 'ledger_rows_d20301201'].every((n) => listed.includes(n)))
    })

    await t.test(
      'hourly partitions: an hour inside an existing day makes nothing; a day with hours gets only the missing hours',
      async (t) => {
        const hourly = new LedgerPartitions(db, 'hour')
        t.same(await hourly.ensureCovering([new Date(T0)]), [], 'the day holds it')
        const later = Date.UTC(2030, 11, 10, 5, 30)
        t.same(await hourly.ensureBetween(new Date(later), new Date(later + 2 * HOUR)), [
          'ledger_rows_h2030121005',
          'ledger_rows_h2030121006',
          'ledger_rows_h2030121007',
        ])
        const created = await partitions.ensureCovering([new Date(later)])
        t.equal(created.length, 21, 'back to days: the 21 other hours of that day, not the day')
        t.notOk(created.includes('ledger_rows_h2030121005'))
        t.notOk(created.includes('ledger_rows_d20301210'))
      },
    )

    await t.test('an insert no partition holds creates its partition and succeeds (the safety net)', async (t) => {
      const told: string[][] = []
      const ledger = new SqlLedgerStore(db, { partitions, maxTtlSeconds: 3600, onPartitionCreated: (names) => told.push(names) })
      const far = entry(Date.UTC(2031, 0, 1, 9))
      const farther = entry(Date.UTC(2031, 5, 1, 9))
      await ledger.recordMany([far, farther])
      t.same(await ledger.get(far.jti), far)
      t.same(await ledger.get(farther.jti), farther)
      const listed = names(await partitions.list())
      t.ok(listed.includes('ledger_rows_d20310101') && listed.includes('ledger_rows_d20310601'))
      t.same(told, [['ledger_rows_d20310101', 'ledger_rows_d20310601']], 'and says so, for the log')
      await ledger.record(entry(Date.UTC(2031, 0, 1, 10)))
      t.equal(told.length, 1, 'an insert its partition holds says nothing')
    })
  })
}

t.test('two instances creating the same partitions at once: each created once, neither fails', async (t) => {
  const url = await freshPostgresDatabase(t)
  const first = createPostgresDatabase({ url, poolSize: 4 })
  const second = createPostgresDatabase({ url, poolSize: 4 })
  t.teardown(() => Promise.all([first.close(), second.close()]))
  await migrate(first)
  const from = new Date(Date.UTC(2027, 2, 1))
  const to = new Date(from.getTime() + 10 * DAY - 1)
  const [a, b] = await Promise.all([
    new LedgerPartitions(first, 'day').ensureBetween(from, to),
    new LedgerPartitions(second, 'day').ensureBetween(from, to),
  ])
  const expected = Array.from({ length: 10 }, (_, i) => partitionOf(new Date(from.getTime() + i * DAY), 'day').name)
  t.same([...a, ...b].sort(), expected, 'between them, each partition made exactly once')
  t.same(
    names(await new LedgerPartitions(first, 'day').list()).filter((n) => expected.includes(n)),
    expected,
  )
})
