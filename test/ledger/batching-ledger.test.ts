import { randomUUID } from 'node:crypto'
import t from 'tap'
import { ServiceUnavailableError } from '../../src/errors.js'
import { BatchingLedger } from '../../src/ledger/batching-ledger.js'
import type { LedgerEntry } from '../../src/ledger/ledger-store.js'
import { ledgerEntry, sqlLedgerStore } from '../support/ledger.js'
import { BACKENDS } from '../support/databases.js'

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0)

function entry(jti: string = randomUUID()): LedgerEntry {
  return ledgerEntry(T0, { jti, scopes: ['ledger:read', 'ledger:write'], grantIds: [randomUUID(), randomUUID()] })
}

t.test('entries recorded together are written together, and each caller learns when its row is durable', async (t) => {
  const db = await BACKENDS.postgres(t)
  const store = sqlLedgerStore(db)
  // Counts the statements the real store is asked for; the writes themselves go to Postgres.
  let statements = 0
  const recordMany = store.recordMany.bind(store)
  store.recordMany = (entries) => {
    statements++
    return recordMany(entries)
  }
  const ledger = new BatchingLedger(store, 50)

  const entries = Array.from({ length: 120 }, () => entry())
  await Promise.all(entries.map((e) => ledger.record(e)))
  t.equal(statements, 3, '120 concurrent records in batches of at most 50')
  for (const e of [entries[0], entries[77], entries[119]]) t.same(await ledger.get(e.jti), e, 'each reads back exactly')
  const [{ n }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM ledger')
  t.equal(n, 120)
})

t.test('a batch that cannot be written fails every request in it, and writes none of it', async (t) => {
  const db = await BACKENDS.postgres(t)
  const ledger = new BatchingLedger(sqlLedgerStore(db))
  const taken = entry()
  await ledger.record(taken)
  const batch = [entry(), entry(taken.jti), entry()]
  const results = await Promise.allSettled(batch.map((e) => ledger.record(e)))
  t.same(
    results.map((r) => r.status),
    ['rejected', 'rejected', 'rejected'],
  )
  for (const result of results) t.type((result as PromiseRejectedResult).reason, ServiceUnavailableError)
  t.equal(await ledger.get(batch[0].jti), undefined, 'no partial batch')
  t.same(
    (await ledger.search({ limit: 10 }, new Date(T0))).items.map((e) => e.jti),
    [taken.jti],
  )

  t.same(await Promise.all([ledger.record(entry()), ledger.record(entry())]), [undefined, undefined], 'the next batch is written as usual')
})

t.test('searching goes straight to the store, and finds what has been committed', async (t) => {
  const db = await BACKENDS.pglite(t)
  const ledger = new BatchingLedger(sqlLedgerStore(db))
  const entries = [entry(), entry(), entry()]
  await Promise.all(entries.map((e) => ledger.record(e)))
  const page = await ledger.search({ grant: entries[1].grantIds[0], limit: 10 }, new Date(T0))
  t.same(page, { items: [entries[1]] })
  const live = await ledger.search({ live: true, limit: 2 }, new Date(T0))
  t.equal(live.items.length, 2)
  t.type(live.nextCursor, 'string', 'the store pages, the batching layer passes its cursor on')
  t.same((await ledger.search({ live: true, limit: 2, cursor: live.nextCursor }, new Date(T0))).items.length, 1)
})

t.test('with a bound on batches in flight, entries recorded meanwhile wait and go together as the next batch', async (t) => {
  const db = await BACKENDS.pglite(t)
  const store = sqlLedgerStore(db)
  const sizes: number[] = []
  let open!: () => void
  const gate = new Promise<void>((resolve) => (open = resolve))
  const recordMany = store.recordMany.bind(store)
  store.recordMany = async (entries) => {
    sizes.push(entries.length)
    // The first batch is held in flight until the test lets it land.
    if (sizes.length === 1) await gate
    return recordMany(entries)
  }
  const ledger = new BatchingLedger(store, 50, undefined, 1)
  const first = Array.from({ length: 3 }, () => ledger.record(entry()))
  await new Promise((resolve) => setImmediate(resolve))
  const later: Promise<void>[] = []
  for (let turn = 0; turn < 4; turn++) {
    later.push(ledger.record(entry()), ledger.record(entry()))
    await new Promise((resolve) => setImmediate(resolve))
  }
  t.same(sizes, [3], 'nothing more starts while the one batch allowed is in flight')
  open()
  await Promise.all([...first, ...later])
  t.same(sizes, [3, 8], 'what piled up went as one batch')
})
