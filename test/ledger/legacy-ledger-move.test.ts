import t from 'tap'
import { LegacyLedgerMove } from '../../src/ledger/legacy-ledger-move.js'
import { LedgerPartitions } from '../../src/ledger/ledger-partitions.js'
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

    t.same(await move.run(1), { moved: 100, done: false }, 'one batch at a time')
    t.same(await move.run(), { moved: 150, done: true }, 'the rest, then done')
    t.same(await move.run(), { moved: 0, done: true }, 'and nothing more to do')
    t.same(await db.query('SELECT count(*)::int AS n FROM ledger_legacy'), [{ n: 0 }])
    t.same(await db.query('SELECT jti::text AS jti FROM ledger_entries ORDER BY jti::text'), before, 'every row, once')
    const names = (await partitions.list()).map((p) => p.name)
    t.ok(
      ['ledger_entries_d20300830', 'ledger_entries_d20300831', 'ledger_entries_d20300901', 'ledger_entries_d20300902'].every((n) =>
        names.includes(n),
      ),
    )
    const ledger = sqlLedgerStore(db)
    t.equal(
      (await ledger.get(first!.jti))?.attestationFingerprint,
      first!.attestation_fingerprint,
      'the fingerprint reads back as the base64url it was',
    )
  })
}
