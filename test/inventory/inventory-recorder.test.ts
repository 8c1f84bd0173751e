import t, { type Test } from 'tap'
import type { Database } from '../../src/db/database.js'
import { createPostgresDatabase } from '../../src/db/postgres.js'
import { migrate } from '../../src/db/migrations.js'
import type { LedgerEntry } from '../../src/ledger/ledger-store.js'
import { FixedClock } from '../../src/lib/clock.js'
import { uuidV7 } from '../../src/lib/uuid-v7.js'
import { createPrometheusMetrics } from '../../src/metrics/prometheus-metrics.js'
import { BACKENDS } from '../support/databases.js'
import { eventually } from '../support/eventually.js'
import { inventoryRecorder, ledgerEntry, sqlLedgerStoreWithInventory } from '../support/ledger.js'
import { parseScrape, valueOf } from '../support/scrape.js'
import { freshPostgresDatabase } from '../support/servers.js'
import { startTcpProxy } from '../support/tcp-proxy.js'

/**
 * The roll-ups written behind the ledger (src/inventory/inventory-recorder.ts): batches gathered in
 * memory and written as one row per key, a failed write kept and written once later, the cap on what
 * is held, and the timer. The tables are read back whole, as SQL sees them.
 */

const T0 = Date.UTC(2030, 5, 15, 12)
const SECOND = 1000
const TD = 'spiffe://example.org/k8s/prod/ns'
const GRANT = '0190a1b2-0000-7000-8000-00000000000a'

function token(at: number, overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  return ledgerEntry(at, { jti: uuidV7(at), grantIds: [GRANT], ...overrides })
}

/** Every roll-up row, whole, by subject: what a flush left in the tables. */
async function tables(db: Database) {
  const iso = (d: Date) => new Date(d).toISOString()
  const identities = await db.query<{
    subject: string
    attestor: string
    attestor_kind: string
    sources: string[]
    first_seen: Date
    last_seen: Date
  }>('SELECT subject, attestor, attestor_kind, sources, first_seen, last_seen FROM identities ORDER BY subject')
  const access = await db.query<{ subject: string; grant_id: string; audience: string; scope: string; first_used: Date; last_used: Date }>(
    `SELECT i.subject, a.grant_id, a.audience, a.scope, a.first_used, a.last_used
     FROM identity_access a JOIN identities i ON i.id = a.identity_id ORDER BY i.subject, a.audience, a.scope`,
  )
  const daily = await db.query<{ subject: string; day: string; tokens: number }>(
    `SELECT i.subject, d.day::text AS day, d.tokens::int AS tokens
     FROM identity_daily_tokens d JOIN identities i ON i.id = d.identity_id ORDER BY i.subject, d.day`,
  )
  return {
    identities: identities.map((r) => ({ ...r, first_seen: iso(r.first_seen), last_seen: iso(r.last_seen) })),
    access: access.map((r) => ({ ...r, first_used: iso(r.first_used), last_used: iso(r.last_used) })),
    daily,
  }
}

const EMPTY = { identities: [], access: [], daily: [] }

function metricsOf() {
  const metrics = createPrometheusMetrics(new FixedClock(T0))
  const value = async (name: string, labels: Record<string, string> = {}) =>
    valueOf(parseScrape(await metrics.registry.metrics()), name, labels)
  return { observer: metrics.inventory, value }
}

/** Makes every write of the roll-ups fail (its last statement: the first two roll back with it) until `restore`. */
async function breakDailyCounts(db: Database): Promise<{ restore(): Promise<void> }> {
  await db.query('ALTER TABLE identity_daily_tokens RENAME TO identity_daily_tokens_away')
  return { restore: async () => void (await db.query('ALTER TABLE identity_daily_tokens_away RENAME TO identity_daily_tokens')) }
}

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`many batches of one identity make one row each, with the sums and the earliest and latest times (${backend})`, async (t) => {
    const db = await open(t)
    const { observer, value } = metricsOf()
    const recorder = inventoryRecorder(db, { observer })
    const store = sqlLedgerStoreWithInventory(db, recorder)
    const subject = `${TD}/payments/sa/api`
    // What an earlier write left: its first times must stay, its count be added to.
    await store.recordMany([token(T0, { subject, scopes: ['ledger:read'] })])
    await recorder.flush()

    // 40 batches of 3 tokens a second apart, over a day boundary; every 7th batch carries times 15 s
    // earlier (two clocks, or a batch of another event-loop turn committing first): batch 3 holds the
    // earliest tokens, batch 24 comes before midnight among batches after it.
    const midnight = Date.UTC(2030, 5, 16)
    for (let n = 0; n < 40; n++) {
      const at = midnight + (3 * n - 60 - (n % 7 === 3 ? 15 : 0)) * SECOND
      await store.recordMany([
        token(at, { subject, scopes: ['ledger:read'], sources: ['k8s:prod', 'k8s:prod:node:n1'] }),
        token(at + SECOND, { subject, scopes: ['ledger:read', 'ledger:write'] }),
        token(at + 2 * SECOND, { subject, audience: 'queue', attestor: n === 39 ? 'prod-b' : 'prod' }),
      ])
    }
    t.equal(recorder.pendingRows, 1 + 4 + 2, 'one identity, four audiences and scopes, two days: seven rows however many batches')
    await recorder.flush()
    t.equal(recorder.pendingRows, 0)

    const iso = (ms: number) => new Date(ms).toISOString()
    const earliest = midnight - 66 * SECOND
    const latest = midnight + 57 * SECOND
    t.same(await tables(db), {
      identities: [
        {
          subject,
          attestor: 'prod-b',
          attestor_kind: 'kubernetes',
          sources: ['k8s:prod', 'k8s:prod:node:n1'],
          first_seen: iso(T0),
          last_seen: iso(latest + 2 * SECOND),
        },
      ],
      access: [
        { subject, grant_id: GRANT, audience: 'ledger-api', scope: '', first_used: iso(T0), last_used: iso(latest + SECOND) },
        { subject, grant_id: GRANT, audience: 'ledger-api', scope: 'ledger:read', first_used: iso(T0), last_used: iso(latest + SECOND) },
        {
          subject,
          grant_id: GRANT,
          audience: 'ledger-api',
          scope: 'ledger:write',
          first_used: iso(earliest + SECOND),
          last_used: iso(latest + SECOND),
        },
        {
          subject,
          grant_id: GRANT,
          audience: 'queue',
          scope: '',
          first_used: iso(earliest + 2 * SECOND),
          last_used: iso(latest + 2 * SECOND),
        },
      ],
      daily: [
        // The earlier write's token, then batches 0 to 19 and batch 24 before midnight, the 19 others after.
        { subject, day: '2030-06-15', tokens: 1 + 3 * 21 },
        { subject, day: '2030-06-16', tokens: 3 * 19 },
      ],
    })
    t.same(
      [
        await value('sts_inventory_flush_duration_seconds_count', { result: 'ok' }),
        await value('sts_inventory_flush_duration_seconds_count', { result: 'error' }),
      ],
      [2, 0],
      'two writes, both ok',
    )
  })

  t.test(`a failed write keeps its rows, merged with newer ones, and a later write applies them once (${backend})`, async (t) => {
    const db = await open(t)
    const { observer, value } = metricsOf()
    const recorder = inventoryRecorder(db, { observer })
    const store = sqlLedgerStoreWithInventory(db, recorder)
    const api = `${TD}/payments/sa/api`
    const worker = `${TD}/payments/sa/worker`
    await store.recordMany([token(T0, { subject: api }), token(T0 + SECOND, { subject: worker })])
    await recorder.flush()
    const written = await tables(db)

    const broken = await breakDailyCounts(db)
    await store.recordMany([token(T0 + 10 * SECOND, { subject: api, sources: ['k8s:prod:node:n2'] })])
    await t.rejects(recorder.flush(), /identity_daily_tokens/)
    t.equal(recorder.pendingRows, 3, 'kept: the identity, its audience, its day')
    await store.recordMany([token(T0 + 20 * SECOND, { subject: api }), token(T0 + 5 * SECOND, { subject: `${TD}/search/sa/api` })])
    await t.rejects(recorder.flush(), /identity_daily_tokens/)
    await broken.restore()
    t.same(await tables(db), written, 'nothing of the failed writes reached the tables')
    await recorder.flush()
    await recorder.flush()

    const search = `${TD}/search/sa/api`
    const iso = (ms: number) => new Date(ms).toISOString()
    t.same(await tables(db), {
      identities: [
        // Its latest token's source first: the gathered batches are in time order, whatever was stored.
        { ...written.identities[0], sources: ['k8s:prod', 'k8s:prod:node:n2'], last_seen: iso(T0 + 20 * SECOND) },
        written.identities[1],
        {
          subject: search,
          attestor: 'prod',
          attestor_kind: 'kubernetes',
          sources: ['k8s:prod'],
          first_seen: iso(T0 + 5 * SECOND),
          last_seen: iso(T0 + 5 * SECOND),
        },
      ],
      access: [
        { ...written.access[0], last_used: iso(T0 + 20 * SECOND) },
        written.access[1],
        {
          subject: search,
          grant_id: GRANT,
          audience: 'ledger-api',
          scope: '',
          first_used: iso(T0 + 5 * SECOND),
          last_used: iso(T0 + 5 * SECOND),
        },
      ],
      daily: [
        { subject: api, day: '2030-06-15', tokens: 3 },
        { subject: worker, day: '2030-06-15', tokens: 1 },
        { subject: search, day: '2030-06-15', tokens: 1 },
      ],
    })
    t.same(
      [
        await value('sts_inventory_flush_duration_seconds_count', { result: 'ok' }),
        await value('sts_inventory_flush_duration_seconds_count', { result: 'error' }),
      ],
      [2, 2],
    )
  })

  t.test(
    `past the cap, a write starts at once; with writes failing, the oldest identities are dropped and counted (${backend})`,
    async (t) => {
      const db = await open(t)
      const { observer, value } = metricsOf()
      // Each identity below is three rows (itself, its audience, its day): the cap holds three identities.
      const recorder = inventoryRecorder(db, { observer, maxPendingRows: 9 })
      const store = sqlLedgerStoreWithInventory(db, recorder)
      const subject = (i: number) => `${TD}/team-${i}/sa/api`

      for (let i = 0; i < 3; i++) await store.recordMany([token(T0 + i * SECOND, { subject: subject(i) })])
      t.equal(recorder.pendingRows, 9, 'at the cap, still held')
      await store.recordMany([token(T0 + 3 * SECOND, { subject: subject(3) })])
      t.equal(recorder.pendingRows, 0, 'past it: taken by a write begun at once, without waiting for the interval')
      await recorder.flush()
      t.same(
        (await tables(db)).identities.map((row) => row.subject),
        [0, 1, 2, 3].map(subject),
      )

      const broken = await breakDailyCounts(db)
      // team-4 to team-6 at the cap; team-4 touched again (so team-5 is now the oldest); team-7 past it.
      for (const i of [4, 5, 6, 4, 7]) await store.recordMany([token(T0 + 10 * SECOND + i * SECOND, { subject: subject(i) })])
      // The write begun past the cap fails: its rows come back, the oldest identity goes.
      await eventually(t, () => recorder.pendingRows, {
        until: (rows) => rows === 9,
        what: 'the rows of the failed write back, less the dropped',
      })
      t.equal(await value('sts_inventory_dropped_total'), 3)
      t.match(recorder.logged.join('\n'), /"dropped":3.*inventory roll-up rows dropped unwritten as writing the roll-ups failed/)
      await broken.restore()
      await recorder.flush()
      t.same(
        (await tables(db)).identities.map((row) => row.subject),
        [0, 1, 2, 3, 4, 6, 7].map(subject),
        'team-5, touched longest ago, was dropped',
      )
      t.same(
        (await tables(db)).daily.filter((row) => row.subject === subject(4)),
        [{ subject: subject(4), day: '2030-06-15', tokens: 2 }],
      )
    },
  )

  t.test(`close writes what is held; the timer writes every interval (${backend})`, async (t) => {
    const db = await open(t)
    const recorder = inventoryRecorder(db)
    const store = sqlLedgerStoreWithInventory(db, recorder)
    await store.recordMany([token(T0, { subject: `${TD}/payments/sa/api` })])
    t.same(await tables(db), EMPTY, 'nothing written before the interval')
    await recorder.close()
    t.same((await tables(db)).daily, [{ subject: `${TD}/payments/sa/api`, day: '2030-06-15', tokens: 1 }])

    // An interval of 50 ms shows the timer without a long wait.
    const timed = inventoryRecorder(db, { intervalMs: 50 })
    timed.start()
    t.teardown(() => timed.close())
    await sqlLedgerStoreWithInventory(db, timed).recordMany([token(T0 + SECOND, { subject: `${TD}/search/sa/api` })])
    await eventually(t, async () => (await tables(db)).identities.length, { until: (n) => n === 2, what: 'the write of the timer' })
  })
}

t.test('a write to an unreachable Postgres keeps its rows; once it is back, they are written once', async (t: Test) => {
  const url = new URL(await freshPostgresDatabase(t))
  const direct = createPostgresDatabase({ url: url.toString(), poolSize: 2 })
  t.teardown(() => direct.close())
  await migrate(direct)
  const proxy = await startTcpProxy(url.hostname, Number(url.port || 5432))
  t.teardown(() => proxy.close())
  const proxied = new URL(url)
  proxied.port = new URL(proxy.url('postgres')).port
  const throughProxy = createPostgresDatabase({ url: proxied.toString(), poolSize: 2 })
  t.teardown(() => throughProxy.close())

  // The ledger writes directly; only the roll-ups' writes go through the proxy that is cut.
  const recorder = inventoryRecorder(throughProxy)
  const store = sqlLedgerStoreWithInventory(direct, recorder)
  const subject = `${TD}/payments/sa/api`
  proxy.cut()
  await store.recordMany([token(T0, { subject }), token(T0 + SECOND, { subject })])
  await t.rejects(recorder.flush())
  await store.recordMany([token(T0 + 2 * SECOND, { subject })])
  await t.rejects(recorder.flush())
  t.equal(recorder.pendingRows, 3)
  proxy.restore()
  await recorder.flush()
  t.same((await tables(direct)).daily, [{ subject, day: '2030-06-15', tokens: 3 }])
  t.same(
    (await tables(direct)).identities.map((row) => [row.first_seen, row.last_seen]),
    [[new Date(T0).toISOString(), new Date(T0 + 2 * SECOND).toISOString()]],
  )
})
