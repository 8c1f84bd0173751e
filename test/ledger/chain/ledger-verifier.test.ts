import t from 'tap'
import type { Database } from '../../../src/db/database.js'
import { LedgerChains } from '../../../src/ledger/chain/ledger-chains.js'
import { BatchCompaction } from '../../../src/ledger/chain/batch-compaction.js'
import { LedgerVerifier } from '../../../src/ledger/chain/ledger-verifier.js'
import type { LedgerVerification } from '../../../src/ledger/chain/verification.js'
import { BatchingLedger } from '../../../src/ledger/batching-ledger.js'
import { LedgerPartitions, partitionOf } from '../../../src/ledger/ledger-partitions.js'
import type { LedgerEntry } from '../../../src/ledger/ledger-store.js'
import { SqlLedgerStore } from '../../../src/ledger/sql-ledger-store.js'
import { BACKENDS } from '../../support/databases.js'
import { ledgerEntry, sqlLedgerStore } from '../../support/ledger.js'

/** Far past the migration and its day of rolling restart: a row no batch holds is an insertion. */
const T0 = Date.UTC(2030, 5, 15, 12, 0, 0)
const CHAIN_A = '01900000-0000-7000-8000-00000000000a'
const CHAIN_B = '01900000-0000-7000-8000-00000000000b'
const CHAIN_C = '01900000-0000-7000-8000-00000000000c'
const clock = { now: () => T0 + 60_000 }

function chainsNamed(...ids: string[]): LedgerChains {
  const queue = [...ids]
  return new LedgerChains(clock, 1, undefined, () => {
    const id = queue.shift()
    if (id === undefined) throw new Error('the test ran out of chain ids')
    return id
  })
}

function chainedStore(db: Database, chains: LedgerChains): SqlLedgerStore {
  return new SqlLedgerStore(db, {
    partitions: new LedgerPartitions(db, 'day'),
    maxTtlSeconds: 3600,
    chains,
  })
}

/** Three batches of three tokens on chain A, a second apart. */
async function threeBatches(db: Database): Promise<LedgerEntry[][]> {
  const store = chainedStore(db, chainsNamed(CHAIN_A, CHAIN_B))
  const batches = [0, 1, 2].map((b) => [0, 1, 2].map((i) => ledgerEntry(T0 + b * 1000 + i, { audience: `aud-${b}-${i}` })))
  for (const batch of batches) await store.recordMany(batch)
  return batches
}

async function clean(db: Database, checked: LedgerVerification['checked']): Promise<LedgerVerification> {
  const rows = await db.query<{ applied_at: Date }>("SELECT applied_at FROM schema_migrations WHERE version LIKE '%\\_ledger\\_chain'")
  const since = new Date(rows[0]?.applied_at ?? 0)
  return {
    intact: true,
    range: { since: null, until: null },
    checked,
    findings: [],
    findingCount: 0,
    retention: { drops: [], batches: 0, rows: 0 },
    unchained: { rows: 0, chainedSince: since.toISOString(), chainedUntil: new Date(since.getTime() + 86_400_000).toISOString() },
  }
}

async function batchHashOf(db: Database, chain: string, seq: number): Promise<string> {
  const rows = await db.query<{ h: string }>("SELECT encode(batch_hash, 'hex') AS h FROM ledger_batches WHERE chain_id = $1 AND seq = $2", [
    chain,
    seq,
  ])
  return rows[0]?.h ?? ''
}

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(backend, async (t) => {
    t.test('a ledger written through its chain verifies', async (t) => {
      const db = await open(t)
      await threeBatches(db)
      t.same(await new LedgerVerifier(db).verify(), await clean(db, { chains: 1, batches: 3, rows: 9 }))
    })

    t.test('a row edited outside the service is reported changed, with its batch', async (t) => {
      const db = await open(t)
      const batches = await threeBatches(db)
      const jti = batches[1]?.[2]?.jti
      await db.query("UPDATE ledger_rows SET audience = 'elsewhere' WHERE jti = $1", [jti])
      const expected = await clean(db, { chains: 1, batches: 3, rows: 9 })
      t.same(await new LedgerVerifier(db).verify(), {
        ...expected,
        intact: false,
        findings: [{ kind: 'row-changed', chainId: CHAIN_A, seq: 2, jti }],
        findingCount: 1,
      })
    })

    t.test('an edit below the millisecond shows too', async (t) => {
      const db = await open(t)
      const batches = await threeBatches(db)
      const jti = batches[0]?.[0]?.jti
      await db.query("UPDATE ledger_rows SET expires_at = expires_at + interval '1 microsecond' WHERE jti = $1", [jti])
      const found = await new LedgerVerifier(db).verify()
      t.same(found.findings, [{ kind: 'row-changed', chainId: CHAIN_A, seq: 1, jti }])
    })

    t.test('a row inserted outside the service, which no batch holds, is reported inserted', async (t) => {
      const db = await open(t)
      await threeBatches(db)
      const extra = ledgerEntry(T0 + 1500, { audience: 'smuggled' })
      await sqlLedgerStore(db).recordMany([extra])
      const expected = await clean(db, { chains: 1, batches: 3, rows: 9 })
      t.same(await new LedgerVerifier(db).verify(), {
        ...expected,
        intact: false,
        findings: [{ kind: 'row-inserted', jti: extra.jti, issuedAt: '2030-06-15T12:00:01.000000Z' }],
        findingCount: 1,
      })
    })

    t.test('a row deleted outside the service is reported deleted, with its batch', async (t) => {
      const db = await open(t)
      const batches = await threeBatches(db)
      const jti = batches[2]?.[0]?.jti
      await db.query('DELETE FROM ledger_rows WHERE jti = $1', [jti])
      const expected = await clean(db, { chains: 1, batches: 3, rows: 8 })
      t.same(await new LedgerVerifier(db).verify(), {
        ...expected,
        intact: false,
        findings: [{ kind: 'row-deleted', chainId: CHAIN_A, seq: 3, jti }],
        findingCount: 1,
      })
    })

    t.test('a whole batch deleted with its rows leaves a gap in its chain', async (t) => {
      const db = await open(t)
      const batches = await threeBatches(db)
      await db.query('DELETE FROM ledger_rows WHERE jti = ANY($1::uuid[])', [batches[1]?.map((e) => e.jti)])
      await db.query('DELETE FROM ledger_batches WHERE chain_id = $1 AND seq = 2', [CHAIN_A])
      const expected = await clean(db, { chains: 1, batches: 2, rows: 6 })
      t.same(await new LedgerVerifier(db).verify(), {
        ...expected,
        intact: false,
        findings: [{ kind: 'batches-deleted', chainId: CHAIN_A, fromSeq: 2, toSeq: 2 }],
        findingCount: 1,
      })
    })

    t.test('a batch rewritten to match an edit breaks its hash, or its link', async (t) => {
      const db = await open(t)
      await threeBatches(db)
      await db.query("UPDATE ledger_batches SET committed_at = committed_at + interval '1 second' WHERE chain_id = $1 AND seq = 2", [
        CHAIN_A,
      ])
      await db.query("UPDATE ledger_batches SET prev_hash = decode(repeat('00', 32), 'hex') WHERE chain_id = $1 AND seq = 3", [CHAIN_A])
      const found = await new LedgerVerifier(db).verify()
      t.same(found.findings, [
        { kind: 'batch-changed', chainId: CHAIN_A, seq: 2 },
        { kind: 'batch-changed', chainId: CHAIN_A, seq: 3 },
        { kind: 'batch-unlinked', chainId: CHAIN_A, seq: 3 },
      ])
    })

    t.test('a truncated tail shows only against the head anchored outside the database', async (t) => {
      const db = await open(t)
      const batches = await threeBatches(db)
      const head = { chainId: CHAIN_A, seq: 3, batchHash: await batchHashOf(db, CHAIN_A, 3) }
      await db.query('DELETE FROM ledger_rows WHERE jti = ANY($1::uuid[])', [batches[2]?.map((e) => e.jti)])
      await db.query('DELETE FROM ledger_batches WHERE chain_id = $1 AND seq = 3', [CHAIN_A])
      const expected = await clean(db, { chains: 1, batches: 2, rows: 6 })
      t.same(await new LedgerVerifier(db).verify(), expected, 'the database alone cannot tell')
      t.same(await new LedgerVerifier(db).verify({ heads: [head] }), {
        ...expected,
        intact: false,
        findings: [{ kind: 'chain-truncated', chainId: CHAIN_A, heldSeq: 2, anchoredSeq: 3 }],
        findingCount: 1,
      })
      const wrong = { chainId: CHAIN_A, seq: 2, batchHash: head.batchHash }
      t.same((await new LedgerVerifier(db).verify({ heads: [wrong] })).findings, [{ kind: 'head-mismatch', chainId: CHAIN_A, seq: 2 }])
      const gone = { chainId: CHAIN_C, seq: 1, batchHash: head.batchHash }
      t.same((await new LedgerVerifier(db).verify({ heads: [gone] })).findings, [
        { kind: 'chain-truncated', chainId: CHAIN_C, heldSeq: null, anchoredSeq: 1 },
      ])
    })

    t.test('a partition dropped by retention is reported as retention, not tampering, before and after compaction', async (t) => {
      const db = await open(t)
      const store = chainedStore(db, chainsNamed(CHAIN_A))
      const dayBefore = T0 - 86_400_000
      await store.recordMany([ledgerEntry(dayBefore), ledgerEntry(dayBefore + 1)])
      await store.recordMany([ledgerEntry(T0), ledgerEntry(T0 + 1)])
      const partitions = new LedgerPartitions(db, 'day')
      const old = partitionOf(new Date(dayBefore), 'day')
      t.equal(await partitions.drop(old), true)
      const [drop] = await db.query<{ dropped_at: Date }>('SELECT dropped_at FROM ledger_partition_drops')
      const expected = {
        ...(await clean(db, { chains: 1, batches: 2, rows: 2 })),
        retention: {
          drops: [
            {
              partition: 'ledger_rows_d20300614',
              from: '2030-06-14T00:00:00.000Z',
              to: '2030-06-15T00:00:00.000Z',
              droppedAt: new Date(drop?.dropped_at ?? 0).toISOString(),
              batches: 1,
              batchRows: 2,
            },
          ],
          batches: 1,
          rows: 2,
        },
      }
      t.same(await new LedgerVerifier(db).verify(), expected)
      t.equal(await new BatchCompaction(db).compact(), 1)
      t.same(await new LedgerVerifier(db).verify(), expected)
    })

    t.test('a time range bounds the walk to the batches and rows issued in it', async (t) => {
      const db = await open(t)
      const batches = await threeBatches(db)
      await db.query('DELETE FROM ledger_rows WHERE jti = $1', [batches[0]?.[0]?.jti])
      const since = new Date(T0 + 1000)
      const found = await new LedgerVerifier(db).verify({ since })
      t.same(
        { range: found.range, checked: found.checked, findings: found.findings },
        { range: { since: since.toISOString(), until: null }, checked: { chains: 1, batches: 2, rows: 6 }, findings: [] },
      )
    })

    t.test('two instances on one database each keep their own chain, concurrently', async (t) => {
      const db = await open(t)
      const one = new BatchingLedger(chainedStore(db, chainsNamed(CHAIN_A)))
      const two = new BatchingLedger(chainedStore(db, chainsNamed(CHAIN_B)))
      const writes: Promise<void>[] = []
      for (let i = 0; i < 40; i++) {
        writes.push(one.record(ledgerEntry(T0 + i * 10)), two.record(ledgerEntry(T0 + i * 10 + 5)))
        if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve))
      }
      await Promise.all(writes)
      const seqs = await db.query<{ chain_id: string; seqs: string[] }>(
        'SELECT chain_id, array_agg(seq::text ORDER BY seq) AS seqs FROM ledger_batches GROUP BY chain_id ORDER BY chain_id',
      )
      t.same(
        seqs.map((row) => row.chain_id),
        [CHAIN_A, CHAIN_B],
      )
      for (const row of seqs)
        t.same(
          row.seqs,
          row.seqs.map((_, i) => String(i + 1)),
          `${row.chain_id} has no gap`,
        )
      const found = await new LedgerVerifier(db).verify()
      t.same(
        { intact: found.intact, checked: found.checked },
        { intact: true, checked: { chains: 2, batches: found.checked.batches, rows: 80 } },
      )
    })

    t.test('a failed commit ends its chain: the next batch starts another, and both verify', async (t) => {
      const db = await open(t)
      const store = chainedStore(db, chainsNamed(CHAIN_A, CHAIN_B))
      const first = ledgerEntry(T0)
      await store.recordMany([first])
      // The same jti and issue time again: the primary key refuses the batch.
      await t.rejects(store.recordMany([ledgerEntry(T0 + 1), first]))
      await store.recordMany([ledgerEntry(T0 + 2)])
      const chains = await db.query<{ chain_id: string; seq: string }>(
        'SELECT chain_id, seq::text AS seq FROM ledger_batches ORDER BY chain_id, seq',
      )
      t.same(chains, [
        { chain_id: CHAIN_A, seq: '1' },
        { chain_id: CHAIN_B, seq: '1' },
      ])
      t.same(await new LedgerVerifier(db).verify(), await clean(db, { chains: 2, batches: 2, rows: 2 }))
    })
  })
}

t.test('rows the previous release wrote during the upgrade are unchained, not inserted; later ones are inserted', async (t) => {
  const db = await BACKENDS.pglite(t)
  const [migration] = await db.query<{ applied_at: Date }>(
    "SELECT applied_at FROM schema_migrations WHERE version LIKE '%\\_ledger\\_chain'",
  )
  const since = new Date(migration?.applied_at ?? 0).getTime()
  const during = ledgerEntry(since + 3_600_000)
  const after = ledgerEntry(since + 86_400_000 + 3_600_000)
  // A store without chains writes as a replica of the previous release does: rows, no batch.
  await sqlLedgerStore(db).recordMany([during, after])
  const found = await new LedgerVerifier(db).verify()
  t.same(
    { findings: found.findings, unchained: found.unchained.rows },
    { findings: [{ kind: 'row-inserted', jti: after.jti, issuedAt: after.issuedAt.toISOString().replace('Z', '000Z') }], unchained: 1 },
  )
})
