import t from 'tap'
import type { Queryable } from '../../src/db/database.js'
import { migrate, readMigrations } from '../../src/db/migrations.js'
import { LegacyLedgerMove } from '../../src/ledger/legacy-ledger-move.js'
import { LedgerPartitions } from '../../src/ledger/ledger-partitions.js'
import type { LedgerEntry } from '../../src/ledger/ledger-store.js'
import { uuidV7 } from '../../src/lib/uuid-v7.js'
import { createLogger } from '../../src/lib/logger.js'
import { previousReleaseParams, sqlLedgerStore } from '../support/ledger.js'
import { fillPreviousLedger, FLEET_MS_PER_TOKEN } from '../support/ledger-fill.js'
import { issuer, upgradeDatabase } from '../support/upgrade-database.js'

/**
 * Migration 011 on a ledger of a million rows, as in production: replicas of the previous release
 * keep issuing (INSERT INTO ledger) throughout, replicas of this release start issuing once it is
 * applied, and the legacy rows move into the partitions in the background. No insert may wait a
 * second, and every row must be found afterwards.
 */
const ROWS = 1_000_000
const MAX_INSERT_MS = 1000

const PREVIOUS_COLUMNS =
  'jti, subject, attestor, attestor_kind, attestation_fingerprint, sources, audience, scopes, grant_ids, issued_at, expires_at, client_address, request_id'

function token(issuedAt: number, jti: string): LedgerEntry {
  return {
    jti,
    subject: 'spiffe://example.org/k8s/prod/ns/payments/sa/api',
    attestor: 'k8s-prod',
    attestorKind: 'kubernetes',
    attestationFingerprint: 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg',
    sources: ['k8s:prod', 'k8s:prod:node:node-1'],
    audience: 'https://api-1.example.org',
    scopes: ['read'],
    grantIds: ['6f0d3a52-1b7e-4c1a-9d2e-000000000001'],
    issuedAt: new Date(Math.floor(issuedAt / 1000) * 1000),
    expiresAt: new Date(Math.floor(issuedAt / 1000) * 1000 + 300_000),
    clientAddress: '10.0.0.7',
    requestId: null,
  }
}

/** Batches of ten tokens with jtis as `jti` makes them. */
const tokens = (jti: (at: number) => string) => (now: number) => Array.from({ length: 10 }, () => token(now, jti(now)))

/** The set of jtis, as a count and an order-independent checksum. */
async function fingerprint(db: Queryable, from: string): Promise<{ n: string; sum: string }> {
  const [row] = await db.query<{ n: string; sum: string }>(
    `SELECT count(*)::text AS n, sum(hashtext(jti::text)::bigint)::text AS sum FROM ${from}`,
  )
  return row ?? { n: '0', sum: '0' }
}

t.test(`upgrading a ledger of ${ROWS.toLocaleString('en')} rows while both releases issue tokens`, async (t) => {
  const { db, raw, previousReplica } = await upgradeDatabase(t)

  await migrate(
    db,
    readMigrations().filter((m) => m.version < '011'),
  )
  let started = Date.now()
  // The indexes the upgrade reads (the primary key, (issued_at, jti) for the move) are built after the
  // rows, quicker than row by row. The previous release's other indexes play no part in the upgrade
  // (the migration only renames the table) and would only slow the fill: left out. What a row costs
  // with all of them is test/ledger/ledger-row-size.test.ts.
  const indexes = await raw.query<{ name: string; definition: string }>(
    "SELECT indexname AS name, indexdef AS definition FROM pg_indexes WHERE tablename = 'ledger' AND indexname <> 'ledger_pkey'",
  )
  for (const { name } of indexes) await raw.query(`DROP INDEX ${name}`)
  await raw.query('ALTER TABLE ledger DROP CONSTRAINT ledger_pkey')
  await fillPreviousLedger(raw, { rows: ROWS, newest: new Date(), spreadMs: ROWS * FLEET_MS_PER_TOKEN })
  await raw.query("SET maintenance_work_mem = '256MB'")
  await raw.query('ALTER TABLE ledger ADD PRIMARY KEY (jti)')
  for (const { definition } of indexes.filter(({ name }) => name === 'ledger_issued_idx')) await raw.query(definition)
  await raw.query('VACUUM ANALYZE ledger')
  t.comment(`filled ${ROWS} rows in ${Date.now() - started} ms`)
  const before = await fingerprint(raw, 'ledger')

  // A replica of the previous release, issuing throughout with its own SQL.
  const previous = issuer(
    (entries) =>
      previousReplica.query(
        `INSERT INTO ledger (${PREVIOUS_COLUMNS}) VALUES ${entries.map((_, i) => `(${Array.from({ length: 13 }, (_, j) => `$${i * 13 + j + 1}`).join(', ')})`).join(', ')}`,
        entries.flatMap(previousReleaseParams),
      ),
    tokens(() => crypto.randomUUID()),
  )
  await new Promise((resolve) => setTimeout(resolve, 200))

  started = Date.now()
  t.same(
    await migrate(db),
    ['011_ledger_partitions'].concat(
      readMigrations()
        .filter((m) => m.version >= '012')
        .map((m) => m.version),
    ),
  )
  t.comment(`migration 011 applied in ${Date.now() - started} ms`)
  const store = sqlLedgerStore(db)
  const current = issuer(
    (entries) => store.recordMany(entries),
    tokens((at) => uuidV7(at)),
  )

  started = Date.now()
  const partitions = new LedgerPartitions(db, 'day')
  const move = new LegacyLedgerMove(db, partitions, createLogger('silent'), 5000)
  let result = await move.run(20)
  // The prefilled rows are the ones with a request id; the issuers here send none.
  const prefilledRows = () =>
    fingerprint(
      raw,
      '(SELECT jti::uuid AS jti, request_id FROM ledger_legacy UNION ALL SELECT jti, request_id FROM ledger_entries) AS j WHERE request_id IS NOT NULL',
    )
  t.same(await prefilledRows(), before, 'half moved, every prefilled row is in one table or the other, once')
  while (!result.done) result = await move.run()
  t.comment(`moved into the partitions in ${Date.now() - started} ms`)
  await Promise.all([previous.stop(), current.stop()])

  t.ok(previous.slowest() < MAX_INSERT_MS, `the previous release's slowest insert took ${Math.round(previous.slowest())} ms`)
  t.ok(current.slowest() < MAX_INSERT_MS, `this release's slowest insert took ${Math.round(current.slowest())} ms`)
  t.ok(
    previous.written.length > 100 && current.written.length > 100,
    `${previous.written.length} and ${current.written.length} tokens issued meanwhile`,
  )

  t.same(await fingerprint(raw, 'ledger_legacy'), { n: '0', sum: null }, 'the legacy table is empty')
  const issuedMeanwhile = [...previous.written, ...current.written].map((e) => e.jti)
  t.same(await prefilledRows(), before, 'every prefilled row is in the partitions, once')
  for (const jti of [...issuedMeanwhile.slice(0, 50), ...issuedMeanwhile.slice(-50)]) {
    if ((await store.get(jti))?.jti !== jti) t.fail(`${jti} is not found`)
  }
  const [{ n }] = (await raw.query(`SELECT count(*)::int AS n FROM ledger_entries WHERE jti = ANY($1::uuid[])`, [issuedMeanwhile])) as [
    { n: number },
  ]
  t.equal(n, issuedMeanwhile.length, 'every token issued during the upgrade is there')
  const sample = (await raw.query(`SELECT jti FROM ledger_rows TABLESAMPLE SYSTEM (0.1) LIMIT 200`)) as { jti: string }[]
  const found = await Promise.all(sample.map(({ jti }) => store.get(jti)))
  t.equal(found.filter((e) => e !== undefined).length, sample.length, 'a sample of rows, each found by its jti')
})
