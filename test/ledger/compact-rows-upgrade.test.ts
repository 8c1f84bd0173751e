import t from 'tap'
import { migrate, readMigrations } from '../../src/db/migrations.js'
import { partitionOf } from '../../src/ledger/ledger-partitions.js'
import { toEntry, type LedgerRow } from '../../src/ledger/ledger-rows.js'
import { ENTRY_SELECT } from '../../src/ledger/ledger-tables.js'
import { SqlLiveTokenCounter } from '../../src/revocation/sql-live-token-counter.js'
import { ledgerEntry, releaseBefore023Params, sqlLedgerStore } from '../support/ledger.js'
import { fillTextRows, FLEET_MS_PER_TOKEN } from '../support/ledger-fill.js'
import { issuer, upgradeDatabase } from '../support/upgrade-database.js'

/**
 * Migration 023 on a ledger of the previous shape, as in production: replicas of the previous release
 * keep issuing with their own SQL (INSERT INTO ledger_entries, then a table) throughout, replicas of
 * this release start once it is applied. No insert may wait a second; afterwards each release finds
 * every token, the other's included, whole, by jti, by subject and by source.
 */
const ROWS = 200_000
const MAX_INSERT_MS = 1000
const SUBJECT = 'spiffe://example.org/k8s/prod/ns/upgrade/sa/api'
const SOURCE = 'k8s:prod:node:upgrade-node'

/** Batches of ten tokens of SUBJECT from SOURCE (and a pod of their own), request ids as `requestId` makes them. */
const tokens = (requestId: (i: number) => string | null) => (now: number, written: number) =>
  Array.from({ length: 10 }, (_, i) =>
    ledgerEntry(now, {
      subject: SUBJECT,
      sources: ['k8s:prod', SOURCE, `k8s:prod:pod:${crypto.randomUUID()}`],
      scopes: ['read'],
      kid: 'sts-2030',
      requestId: requestId(written + i),
    }),
  )

t.test(`migration 023 on a ledger of ${ROWS.toLocaleString('en')} rows while both releases issue tokens`, async (t) => {
  const { db, raw, previousReplica } = await upgradeDatabase(t)
  const previous = (sql: string, params: unknown[] = []) => previousReplica.query(sql, params).then((r) => r.rows)

  await migrate(
    db,
    readMigrations().filter((m) => m.version < '023'),
  )
  // The previous release's rows, ending now, in its own table's partitions (as its upkeep made them).
  const newest = new Date()
  const oldest = new Date(newest.getTime() - ROWS * FLEET_MS_PER_TOKEN)
  for (let day = partitionOf(oldest, 'day'); day.from <= newest; day = partitionOf(day.to, 'day')) {
    await raw.query(
      `CREATE TABLE IF NOT EXISTS ${day.name.replace('ledger_rows_', 'ledger_entries_')} PARTITION OF ledger_entries
         FOR VALUES FROM ('${day.from.toISOString()}') TO ('${day.to.toISOString()}')`,
    )
  }
  await fillTextRows(raw, { rows: ROWS, newest, spreadMs: ROWS * FLEET_MS_PER_TOKEN }, 'ledger_entries')
  await raw.query('VACUUM ANALYZE ledger_entries')
  const prefilled = async () =>
    (await raw.query<{ n: number }>('SELECT count(DISTINCT jti)::int AS n FROM ledger_entries WHERE subject <> $1', [SUBJECT]))[0]?.n

  t.equal(await prefilled(), ROWS)

  // The inventory of the previous release knows the workload that issues during the upgrade.
  await raw.query(
    `INSERT INTO identities (first_seen, last_seen, subject, attestor, attestor_kind, sources)
     VALUES (now(), now(), $1, 'prod', 'kubernetes', ARRAY['k8s:prod', $2])`,
    [SUBJECT, SOURCE],
  )

  // A replica of the previous release, issuing throughout with its own SQL (its client's ids).
  const columns = ENTRY_SELECT.split(', ').length
  const before = issuer(
    (entries) =>
      previous(
        `INSERT INTO ledger_entries (${ENTRY_SELECT}) VALUES ${entries
          .map((_, i) => `(${Array.from({ length: columns }, (_, j) => `$${i * columns + j + 1}`).join(', ')})`)
          .join(', ')}`,
        entries.flatMap(releaseBefore023Params),
      ),
    tokens((i) => `client:previous-${i}`),
  )
  await new Promise((resolve) => setTimeout(resolve, 200))

  const started = Date.now()
  t.same(await migrate(db), ['023_compact_ledger_rows'])
  // The inventory's subject and its sources were numbered ahead by the migration, in sorted order.
  t.same(await raw.query('SELECT id, subject FROM ledger_subjects ORDER BY id'), [{ id: 1, subject: SUBJECT }])
  t.same(await raw.query('SELECT id, source FROM ledger_sources WHERE id <= 2 ORDER BY id'), [
    { id: 1, source: 'k8s:prod' },
    { id: 2, source: SOURCE },
  ])
  t.comment(`migration 023 applied in ${Date.now() - started} ms`)
  t.ok(Date.now() - started < MAX_INSERT_MS, 'the migration itself takes under a second')
  const store = sqlLedgerStore(db)
  const after = issuer(
    (entries) => store.recordMany(entries),
    tokens(() => crypto.randomUUID()),
  )
  await new Promise((resolve) => setTimeout(resolve, 1500))
  await Promise.all([before.stop(), after.stop()])

  t.ok(before.slowest() < MAX_INSERT_MS, `the previous release's slowest insert took ${Math.round(before.slowest())} ms`)
  t.ok(after.slowest() < MAX_INSERT_MS, `this release's slowest insert took ${Math.round(after.slowest())} ms`)
  const issued = [...before.written, ...after.written]
  t.ok(
    before.written.length > 100 && after.written.length > 100,
    `${before.written.length} and ${after.written.length} tokens issued meanwhile`,
  )
  t.equal(await prefilled(), ROWS, 'every prefilled row is still there, once')

  await t.test('each release reads every token whole, the ones the other wrote included', async (t) => {
    const sample = [
      ...before.written.slice(0, 20),
      ...before.written.slice(-20),
      ...after.written.slice(0, 20),
      ...after.written.slice(-20),
    ]
    const byStore = await Promise.all(sample.map((e) => store.get(e.jti)))
    t.same(byStore, sample, 'this release, by jti')
    const byPrevious = await Promise.all(
      sample.map(async (e) => {
        const rows = await previous(
          `SELECT ${ENTRY_SELECT} FROM ledger_entries WHERE jti = $1::uuid AND issued_at >= $2 AND issued_at < $3`,
          [e.jti, new Date(e.issuedAt.getTime() - 600_000), new Date(e.issuedAt.getTime() + 600_000)],
        )
        return rows.map((row) => toEntry(row as LedgerRow))[0]
      }),
    )
    t.same(byPrevious, sample, "the previous release's lookup by jti")
  })

  await t.test('by source and by subject, each release counts them all, written before or after, by either', async (t) => {
    const now = new Date()
    const counter = new SqlLiveTokenCounter(db, 3600, 10_000)
    t.equal(await counter.count({ kind: 'source', value: SOURCE }, now), issued.length, 'this release, by source')
    t.equal(
      await counter.count({ kind: 'subject', value: 'spiffe://example.org/k8s/prod/ns/upgrade/**' }, now),
      issued.length,
      'by subject glob',
    )
    const [{ n }] = (await previous(
      'SELECT count(*)::int AS n FROM ledger_entries WHERE sources @> ARRAY[$1::text] AND expires_at > $2 AND issued_at >= $3',
      [SOURCE, now, new Date(now.getTime() - 3_600_000)],
    )) as [{ n: number }]
    t.equal(n, issued.length, "the previous release's count by source")
    const page = await store.search({ source: SOURCE, subject: SUBJECT, since: before.written[0]?.issuedAt, limit: 500 }, now)
    const newestFirst = [...issued].sort((a, b) => {
      const byTime = b.issuedAt.getTime() - a.issuedAt.getTime()
      return byTime !== 0 ? byTime : a.jti < b.jti ? 1 : -1
    })
    t.same(
      page.items.map((e) => e.jti),
      newestFirst.slice(0, 500).map((e) => e.jti),
      'a search by source and subject: the newest 500, in order',
    )
  })

  await t.test('the rows written since are compact: the numbers, and the service-made request id as a uuid', async (t) => {
    const rows = await raw.query<{ text_rows: number; compact: number; uuids: number; spelled: number }>(
      `SELECT (SELECT count(*)::int FROM ledger_text_rows WHERE subject = $1) AS text_rows,
              (SELECT count(*)::int FROM ledger_rows) AS compact,
              (SELECT count(*)::int FROM ledger_rows WHERE request_uuid IS NOT NULL AND request_id IS NULL) AS uuids,
              (SELECT count(*)::int FROM ledger_rows WHERE request_id LIKE 'client:previous-%' AND request_uuid IS NULL) AS spelled`,
      [SUBJECT],
    )
    const writtenBefore = rows[0]?.text_rows ?? 0
    t.same(rows, [
      {
        text_rows: writtenBefore,
        compact: issued.length - writtenBefore,
        uuids: after.written.length,
        spelled: before.written.length - writtenBefore,
      },
    ])
    t.ok(
      writtenBefore > 0 && writtenBefore < before.written.length,
      `the previous release wrote ${writtenBefore} rows before the migration, the rest after`,
    )
  })
})
