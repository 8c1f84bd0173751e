import t from 'tap'
import { LegacyLedgerMove } from '../../src/ledger/legacy-ledger-move.js'
import { LedgerPartitions } from '../../src/ledger/ledger-partitions.js'
import { LedgerRetention } from '../../src/ledger/ledger-retention.js'
import { FixedClock } from '../../src/lib/clock.js'
import { createLogger } from '../../src/lib/logger.js'
import { BACKENDS } from '../support/databases.js'
import { sqlLedgerStore } from '../support/ledger.js'
import { fillPreviousLedger } from '../support/ledger-fill.js'

const NEWEST = new Date(Date.UTC(2030, 8, 2, 1))

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`the previous release's rows move into the partitions on ${backend}`, async (t) => {
    const db = await open(t)
    // 250 rows over three days, in the table the migration kept.
    await fillPreviousLedger(db, { rows: 250, newest: NEWEST, spreadMs: 3 * 86_400_000 }, 'ledger_legacy')
    const before = await db.query<{ jti: string }>('SELECT jti FROM ledger_legacy ORDER BY jti')
    const [first] = await db.query<{ jti: string; attestation_fingerprint: string }>(
      'SELECT jti, attestation_fingerprint FROM ledger_legacy ORDER BY jti LIMIT 1',
    )
    const partitions = new LedgerPartitions(db, 'day')
    const move = new LegacyLedgerMove(db, partitions, createLogger('silent'), 100)

    t.same(await move.run(1), { moved: 100, deleted: 0, done: false }, 'one batch at a time')
    t.same(await move.run(), { moved: 150, deleted: 0, done: true }, 'the rest, then done')
    t.same(await move.run(), { moved: 0, deleted: 0, done: true }, 'and nothing more to do')
    t.same(await db.query('SELECT count(*)::int AS n FROM ledger_legacy'), [{ n: 0 }])
    t.same(await db.query('SELECT jti::text AS jti FROM ledger_entries ORDER BY jti::text'), before, 'every row, once')
    const names = (await partitions.list()).map((p) => p.name)
    t.ok(
      ['ledger_rows_d20300830', 'ledger_rows_d20300831', 'ledger_rows_d20300901', 'ledger_rows_d20300902'].every((n) => names.includes(n)),
    )
    const ledger = sqlLedgerStore(db)
    t.equal(
      (await ledger.get(first!.jti))?.attestationFingerprint,
      first!.attestation_fingerprint,
      'the fingerprint reads back as the base64url it was',
    )
  })
}

const DAY = 86_400_000
const NOW = Date.UTC(2030, 8, 2, 12)
const clock = new FixedClock(NOW)
const dayName = (at: number) => `ledger_rows_d${new Date(at).toISOString().slice(0, 10).replace(/-/g, '')}`

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`rows past retention are deleted, not moved into partitions retention would drop, on ${backend}`, async (t) => {
    const db = await open(t)
    const partitions = new LedgerPartitions(db, 'day')
    const ours = async () => (await partitions.list()).map((p) => p.name).filter((name) => name.startsWith('ledger_rows_d2030'))
    // 30 expired tokens 100 days old (past a 90-day retention), 20 of 10 days ago (kept).
    await fillPreviousLedger(db, { rows: 30, newest: new Date(NOW - 100 * DAY), spreadMs: 60_000 }, 'ledger_legacy')
    await fillPreviousLedger(db, { first: 31, rows: 20, newest: new Date(NOW - 10 * DAY), spreadMs: 60_000 }, 'ledger_legacy')
    const move = new LegacyLedgerMove(db, partitions, createLogger('silent'), 7, { retentionDays: 90, clock })
    t.same(await move.run(), { moved: 20, deleted: 30, done: true })
    t.same(await db.query('SELECT count(*)::int AS n FROM ledger_legacy'), [{ n: 0 }])
    t.same(await db.query('SELECT count(*)::int AS n FROM ledger_entries'), [{ n: 20 }])
    t.same(await ours(), [dayName(NOW - 10 * DAY)], 'no partition made for the rows past retention')
  })

  t.test(`rows before what retention dropped are deleted, and their partitions never made again, on ${backend}`, async (t) => {
    const db = await open(t)
    const partitions = new LedgerPartitions(db, 'day')
    const ours = async () => (await partitions.list()).map((p) => p.name).filter((name) => name.startsWith('ledger_rows_d2030'))
    await db.query('INSERT INTO ledger_retention (dropped_before) VALUES ($1)', [new Date(NOW - 5 * DAY)])
    await fillPreviousLedger(db, { rows: 10, newest: new Date(NOW - 6 * DAY), spreadMs: 60_000 }, 'ledger_legacy')
    await fillPreviousLedger(db, { first: 11, rows: 5, newest: new Date(NOW - 4 * DAY), spreadMs: 60_000 }, 'ledger_legacy')
    const move = new LegacyLedgerMove(db, partitions, createLogger('silent'), 4, { retentionDays: 90, clock })
    t.same(await move.run(), { moved: 5, deleted: 10, done: true })
    t.same(await ours(), [dayName(NOW - 4 * DAY)])
  })

  t.test(`retention keeps the partitions the move has yet to fill, on ${backend}`, async (t) => {
    const db = await open(t)
    const partitions = new LedgerPartitions(db, 'day')
    const ours = async () => (await partitions.list()).map((p) => p.name).filter((name) => name.startsWith('ledger_rows_d2030'))
    await partitions.ensureBetween(new Date(NOW - 97 * DAY), new Date(NOW - 93 * DAY))
    // A token of the previous release, 95 days old and still live: the move has it to move.
    await db.query(
      `INSERT INTO ledger_legacy (jti, subject, attestor, attestor_kind, attestation_fingerprint, sources, audience, scopes, grant_ids, issued_at, expires_at)
       VALUES ('3f1c1fb4-8b3e-4c59-9d0e-0a8d2f43c1aa', 's', 'a', 'k', 'AA', '{}', 'a', '{}', '{}', $1, $2)`,
      [new Date(NOW - 95 * DAY), new Date(NOW + DAY)],
    )
    const move = new LegacyLedgerMove(db, partitions, createLogger('silent'), 100, { retentionDays: 90, clock })
    const retention = new LedgerRetention(partitions, 90, createLogger('silent'), move)
    t.same(
      (await retention.apply(new Date(NOW))).map((p) => p.name).filter((name) => name.startsWith('ledger_rows_d2030')),
      [dayName(NOW - 97 * DAY), dayName(NOW - 96 * DAY)],
      'only the partitions before the oldest row still to move',
    )
    t.same(await move.run(), { moved: 1, deleted: 0, done: true })
    t.same(await ours(), [dayName(NOW - 95 * DAY), dayName(NOW - 94 * DAY), dayName(NOW - 93 * DAY)])
  })
}
