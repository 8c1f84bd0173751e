import { pino } from 'pino'
import t from 'tap'
import { GoneError } from '../../src/errors.js'
import { encodeCursor } from '../../src/db/sql.js'
import { LedgerPartitions } from '../../src/ledger/ledger-partitions.js'
import { LedgerRetention } from '../../src/ledger/ledger-retention.js'
import type { LedgerEntry } from '../../src/ledger/ledger-store.js'
import { BACKENDS } from '../support/databases.js'
import { ledgerEntry, sqlLedgerStore } from '../support/ledger.js'

const DAY = 86_400_000
/** Now, in these tests: far from the partitions the migration made around the real now. */
const NOW = Date.UTC(2030, 5, 15, 12)
const dayOf = (daysAgo: number) => Date.UTC(2030, 5, 15 - daysAgo, 6)

function entry(issuedAt: number, lifetimeMs = 300_000): LedgerEntry {
  return ledgerEntry(issuedAt, { issuedAt: new Date(issuedAt), expiresAt: new Date(issuedAt + lifetimeMs) })
}

/** A real logger whose lines the test reads back: level, message and the fields retention logs. */
function recordingLogger() {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = []
  const logger = pino(
    { level: 'info', base: undefined, timestamp: false },
    {
      write: (line: string) => {
        const { level, msg, ...fields } = JSON.parse(line) as { level: number; msg: string }
        lines.push({ level: pino.levels.labels[level] ?? String(level), msg, fields })
      },
    },
  )
  return { lines, logger }
}

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`ledger retention on ${backend}`, async (t) => {
    const db = await open(t)
    const partitions = new LedgerPartitions(db, 'day')
    const ledger = sqlLedgerStore(db)
    // Only the days of these tests: the migrations' partitions around the real now (empty) go.
    for (const { name } of await partitions.list(db, { textRows: true }))
      if (!name.startsWith('ledger_rows_d2030')) await db.query(`DROP TABLE ${name}`)
    const ours = async () => (await partitions.list()).map((p) => p.name).filter((name) => name.startsWith('ledger_rows_d2030'))
    // One token a day, 100 to 85 days ago.
    const entries = [100, 95, 91, 90, 89, 85].map((daysAgo) => entry(dayOf(daysAgo)))
    await ledger.recordMany(entries)

    await t.test('0 days keeps everything', async (t) => {
      t.same(await new LedgerRetention(partitions, 0, recordingLogger().logger).apply(new Date(NOW)), [])
      t.equal((await ours()).length, 6)
    })

    await t.test('drops, oldest first, the partitions whose whole day is older than retention, and says so', async (t) => {
      const { lines, logger } = recordingLogger()
      const dropped = await new LedgerRetention(partitions, 90, logger).apply(new Date(NOW))
      // 90 days before now is 2030-03-17T12:00Z: the day of 90 days ago ends after it and stays.
      t.same(
        dropped.map((p) => p.name),
        ['ledger_rows_d20300307', 'ledger_rows_d20300312', 'ledger_rows_d20300316'],
      )
      t.same(await ours(), ['ledger_rows_d20300317', 'ledger_rows_d20300318', 'ledger_rows_d20300322'])
      t.same(
        lines.map((line) => [line.level, line.fields.partition]),
        dropped.map((p) => ['info', p.name]),
      )
      t.match(lines[0]?.msg, /dropped a partition/)
      const found = await Promise.all(entries.map((e) => ledger.get(e.jti)))
      t.same(
        found.map((e) => e !== undefined),
        [false, false, false, true, true, true],
        'their tokens are gone, the others are all there',
      )
    })

    await t.test('a cursor into what retention dropped is 410 Gone; one after it still pages', async (t) => {
      const into = encodeCursor([new Date(dayOf(91)).toISOString(), entries[2]!.jti])
      await t.rejects(ledger.search({ limit: 10, cursor: into }, new Date(NOW)), {
        constructor: GoneError,
        reason: 'ledger_cursor_expired',
        message:
          'the cursor points at 2030-03-16T06:00:00.000Z, and the ledger keeps nothing issued before 2030-03-17T00:00:00.000Z ' +
          '(ledger.retentionDays): list again from the first page, without a cursor',
      })
      const after = encodeCursor([new Date(dayOf(85)).toISOString(), entries[5]!.jti])
      t.same(
        (await ledger.search({ limit: 10, cursor: after }, new Date(NOW))).items.map((e) => e.jti),
        [entries[4]!.jti, entries[3]!.jti],
      )
    })

    await t.test('a partition of the previous release past retention that holds a live token is kept, and every later one', async (t) => {
      // Tokens of the previous release, whose lifetimes nothing capped: migration 011 applied after them.
      const longLived = { ...entry(dayOf(80), 100 * DAY), jti: '3f1c1fb4-8b3e-4c59-9d0e-0a8d2f43c1aa' }
      await ledger.record(longLived)
      await ledger.record(entry(dayOf(79)))
      await db.query("UPDATE schema_migrations SET applied_at = $1 WHERE version = '011_ledger_partitions'", [new Date(dayOf(79))])
      const { lines, logger } = recordingLogger()
      const later = new Date(NOW + 11 * DAY)
      t.same(
        await new LedgerRetention(partitions, 90, logger).apply(later),
        ['ledger_rows_d20300317', 'ledger_rows_d20300318', 'ledger_rows_d20300322'].map(partitionOfName),
      )
      t.same(await ours(), ['ledger_rows_d20300327', 'ledger_rows_d20300328'])
      t.same(lines.at(-1), {
        level: 'warn',
        msg: 'ledger retention keeps a partition past retention: a token in it has not expired yet',
        fields: { partition: 'ledger_rows_d20300327', retentionDays: 90 },
      })
      t.same(await ledger.get(longLived.jti), longLived)
    })

    await t.test("this release's partitions are dropped without reading them: no token of it outlives a day", async (t) => {
      // The same partitions, had migration 011 been applied before them: a lifetime of 100 days is one
      // this release never issues (tokens.maxTtlSeconds is at most 86,400), so the row is not read.
      await db.query("UPDATE schema_migrations SET applied_at = $1 WHERE version = '011_ledger_partitions'", [new Date(dayOf(200))])
      const { logger } = recordingLogger()
      t.same(await new LedgerRetention(partitions, 90, logger).apply(new Date(NOW + 11 * DAY)), [partitionOfName('ledger_rows_d20300327')])
      t.same(await ours(), ['ledger_rows_d20300328'])
    })

    await t.test('a retention of a day still waits out the longest lifetime', async (t) => {
      const lastMinute = entry(Date.UTC(2030, 6, 1, 23, 59))
      await ledger.record(lastMinute)
      const { logger } = recordingLogger()
      // A day after the partition ended, and not before: its tokens may have lived a whole day, no more.
      const retention = new LedgerRetention(partitions, 1, logger)
      t.same(
        await retention.apply(new Date(Date.UTC(2030, 6, 2, 23, 59))),
        [partitionOfName('ledger_rows_d20300328')],
        'not the day of July 1 yet: a token from its last minute may live',
      )
      t.same(await retention.apply(new Date(Date.UTC(2030, 6, 3, 0, 0))), [partitionOfName('ledger_rows_d20300701')])
    })
  })
}

function partitionOfName(name: string) {
  const day = name.slice(-8)
  const from = new Date(Date.UTC(Number(day.slice(0, 4)), Number(day.slice(4, 6)) - 1, Number(day.slice(6))))
  return { name, from, to: new Date(from.getTime() + DAY) }
}
