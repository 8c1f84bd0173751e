import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { Database } from '../../src/db/database.js'
import { migrate } from '../../src/db/migrations.js'
import { createPostgresDatabase } from '../../src/db/postgres.js'
import { InvalidInputError, ServiceUnavailableError } from '../../src/errors.js'
import type { Identity, IdentityAccess } from '../../src/inventory/identity-inventory.js'
import { SqlIdentityInventory } from '../../src/inventory/sql-identity-inventory.js'
import { BatchingLedger } from '../../src/ledger/batching-ledger.js'
import { LedgerPartitions } from '../../src/ledger/ledger-partitions.js'
import { LedgerRetention } from '../../src/ledger/ledger-retention.js'
import type { LedgerEntry } from '../../src/ledger/ledger-store.js'
import { uuidV7 } from '../../src/lib/uuid-v7.js'
import { BACKENDS } from '../support/databases.js'
import { inventoryRecorder, ledgerEntry, sqlLedgerStoreWithInventory } from '../support/ledger.js'
import { freshPostgresDatabase } from '../support/servers.js'

/** The inventory's roll-ups as the ledger's writer keeps them (written behind it, flushed here), read back through the inventory store. */
const T0 = Date.UTC(2030, 5, 15, 12)
const MINUTE = 60_000
const DAY = 86_400_000
const TD = 'spiffe://example.org'
const GRANT_A = '0190a1b2-0000-7000-8000-00000000000a'
const GRANT_B = '0190a1b2-0000-7000-8000-00000000000b'

function token(at: number, overrides: Partial<LedgerEntry>): LedgerEntry {
  return ledgerEntry(at, { jti: uuidV7(at), grantIds: [GRANT_A], ...overrides })
}

/**
 * What the inventory should say, worked out from the ledger's own rows by a plain walk over them:
 * sources as a sorted set (their order depends on how the rows were batched; tested on its own).
 */
async function inventoryFromLedger(db: Database): Promise<Identity[]> {
  const rows = await db.query<{
    subject: string
    attestor: string
    attestor_kind: string
    sources: string[]
    audience: string
    scopes: string[]
    grant_ids: string[]
    issued_at: Date
  }>('SELECT subject, attestor, attestor_kind, sources, audience, scopes, grant_ids, issued_at FROM ledger_entries ORDER BY issued_at, jti')
  const identities = new Map<string, Identity>()
  for (const row of rows) {
    const at = new Date(row.issued_at)
    let identity = identities.get(row.subject)
    if (!identity) {
      identity = { subject: row.subject, attestor: '', attestorKind: '', sources: [], firstSeen: at, lastSeen: at, access: [] }
      identities.set(row.subject, identity)
    }
    identity.attestor = row.attestor
    identity.attestorKind = row.attestor_kind
    identity.lastSeen = at
    identity.sources = [...new Set([...identity.sources, ...row.sources])].sort()
    for (const grantId of row.grant_ids) {
      for (const scope of [undefined, ...row.scopes]) {
        const found = identity.access.find((a) => a.grantId === grantId && a.audience === row.audience && a.scope === scope)
        if (found) found.lastUsed = at
        else
          identity.access.push({ grantId, audience: row.audience, ...(scope === undefined ? {} : { scope }), firstUsed: at, lastUsed: at })
      }
    }
  }
  const key = (a: IdentityAccess) => `${a.grantId} ${a.audience} ${a.scope ?? ''}`
  return [...identities.values()]
    .sort((a, b) => (a.subject < b.subject ? -1 : 1))
    .map((identity) => ({ ...identity, access: identity.access.sort((a, b) => (key(a) < key(b) ? -1 : 1)) }))
}

async function everyIdentity(inventory: SqlIdentityInventory): Promise<Identity[]> {
  const all: Identity[] = []
  let cursor: string | undefined
  do {
    const page = await inventory.list({ limit: 2, ...(cursor === undefined ? {} : { cursor }) })
    all.push(...page.items)
    cursor = page.nextCursor
  } while (cursor !== undefined)
  return all
}

const sortedSources = (identities: Identity[]) => identities.map((i) => ({ ...i, sources: [...i.sources].sort() }))

/** Traffic of a few workloads over three days: several grants, audiences, scopes and sources. */
function traffic(): LedgerEntry[] {
  const entries: LedgerEntry[] = []
  for (let i = 0; i < 60; i++) {
    const at = T0 - 2 * DAY + i * 71 * MINUTE
    const workload = i % 4
    entries.push(
      token(at, {
        subject: `${TD}/k8s/prod/ns/${['payments', 'ledger', 'payments', 'search'][workload]}/sa/${['api', 'worker', 'batch', 'api'][workload]}`,
        attestor: workload === 3 && i > 30 ? 'prod-b' : 'prod',
        sources: ['k8s:prod', `k8s:prod:node:node-${i % 3}`, `k8s:prod:pod:pod-${workload}-${Math.floor(i / 16)}`],
        audience: i % 5 === 0 ? 'search-api' : 'ledger-api',
        scopes: i % 2 === 0 ? ['ledger:read'] : i % 3 === 0 ? ['ledger:read', 'ledger:write'] : [],
        grantIds: workload === 1 ? [GRANT_A, GRANT_B] : [workload === 2 ? GRANT_B : GRANT_A],
      }),
    )
  }
  return entries
}

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`the inventory on ${backend}`, async (t) => {
    const db = await open(t)
    const inventory = new SqlIdentityInventory(db)
    const recorder = inventoryRecorder(db)
    const ledger = new BatchingLedger(sqlLedgerStoreWithInventory(db, recorder), 7)
    const recorded = traffic()
    // As the exchange records them: concurrently, so batches are made by the event loop (of at most 7).
    await Promise.all(recorded.map((entry) => ledger.record(entry)))
    await recorder.flush()

    await t.test('the roll-ups say what the ledger says, whole, page after page', async (t) => {
      const expected = await inventoryFromLedger(db)
      t.equal(expected.length, 4)
      t.same(sortedSources(await everyIdentity(inventory)), expected)
    })

    await t.test('daily counts per identity add up to the ledger, day by day', async (t) => {
      const subject = `${TD}/k8s/prod/ns/ledger/sa/worker`
      const detail = await inventory.get(subject)
      const days = new Map<string, number>()
      for (const e of recorded.filter((e) => e.subject === subject)) {
        const day = e.issuedAt.toISOString().slice(0, 10)
        days.set(day, (days.get(day) ?? 0) + 1)
      }
      t.same(
        detail?.dailyTokens,
        [...days].sort().map(([day, tokens]) => ({ day, tokens })),
      )
      t.same(detail && { ...detail, dailyTokens: undefined, sources: [] }, {
        ...(await inventoryFromLedger(db)).find((i) => i.subject === subject),
        dailyTokens: undefined,
        sources: [],
        // No delegated token in this traffic (test/inventory/identity-delegations.test.ts has them).
        delegations: [],
        actedFor: [],
      })
      t.equal(await inventory.get(`${TD}/k8s/prod/ns/nobody/sa/api`), undefined)
    })

    await t.test('each filter narrows the list', async (t) => {
      const subjects = async (filter: Parameters<SqlIdentityInventory['list']>[0]) =>
        (await inventory.list(filter)).items.map((i) => i.subject.slice(TD.length))
      t.same(await subjects({ limit: 10, subject: `${TD}/k8s/prod/ns/payments/sa/*` }), [
        '/k8s/prod/ns/payments/sa/api',
        '/k8s/prod/ns/payments/sa/batch',
      ])
      t.same(await subjects({ limit: 10, subject: `${TD}/k8s/prod/ns/ledger/sa/worker` }), ['/k8s/prod/ns/ledger/sa/worker'])
      t.same(await subjects({ limit: 10, subject: `${TD}/k8s/**/api` }), ['/k8s/prod/ns/payments/sa/api', '/k8s/prod/ns/search/sa/api'])
      t.same(await subjects({ limit: 10, subject: `${TD}/k8s/prod/ns/*` }), [], 'a segment glob never crosses a slash')
      t.same(await subjects({ limit: 10, attestor: 'prod-b' }), ['/k8s/prod/ns/search/sa/api'])
      t.same(await subjects({ limit: 10, source: 'k8s:prod:pod:pod-1-3' }), ['/k8s/prod/ns/ledger/sa/worker'])
      const lastSeen = new Map((await everyIdentity(inventory)).map((i) => [i.subject.slice(TD.length), i.lastSeen]))
      const worker = lastSeen.get('/k8s/prod/ns/ledger/sa/worker')!
      t.same(await subjects({ limit: 10, lastSeenBefore: worker }), ['/k8s/prod/ns/payments/sa/api'], 'before is strict')
      t.same(
        await subjects({ limit: 10, lastSeenAfter: worker }),
        ['/k8s/prod/ns/ledger/sa/worker', '/k8s/prod/ns/payments/sa/batch', '/k8s/prod/ns/search/sa/api'],
        'after includes the instant',
      )
      t.same(await subjects({ limit: 10, lastSeenAfter: worker, lastSeenBefore: new Date(worker.getTime() + 1000), attestor: 'prod' }), [
        '/k8s/prod/ns/ledger/sa/worker',
      ])
    })

    await t.test('pages follow the subject; a cursor not handed out is refused', async (t) => {
      const first = await inventory.list({ limit: 3 })
      t.same(
        first.items.map((i) => i.subject.slice(TD.length)),
        ['/k8s/prod/ns/ledger/sa/worker', '/k8s/prod/ns/payments/sa/api', '/k8s/prod/ns/payments/sa/batch'],
      )
      const second = await inventory.list({ limit: 3, cursor: first.nextCursor! })
      t.same(
        { ...second, items: sortedSources(second.items) },
        { items: (await inventoryFromLedger(db)).slice(3) },
        'the last page has no cursor',
      )
      await t.rejects(inventory.list({ limit: 3, cursor: 'nonsense' }), InvalidInputError)
      await t.rejects(inventory.list({ limit: 3, cursor: Buffer.from('[1]').toString('base64url') }), InvalidInputError)
    })

    await t.test('a failed ledger batch leaves neither its ledger rows nor its roll-ups', async (t) => {
      const before = await everyIdentity(inventory)
      const again = { ...recorded[0]!, subject: `${TD}/k8s/prod/ns/new/sa/one` }
      const fresh = token(T0 + MINUTE, { subject: `${TD}/k8s/prod/ns/new/sa/two` })
      // The duplicate jti fails the ledger insert: the batch's other entry goes too, and nothing reaches the roll-ups.
      await t.rejects(sqlLedgerStoreWithInventory(db, recorder).recordMany([fresh, again]), ServiceUnavailableError)
      t.equal(recorder.pendingRows, 0)
      await recorder.flush()
      t.same(await everyIdentity(inventory), before)
      t.same(await db.query('SELECT count(*)::int AS n FROM ledger_entries WHERE subject = $1', [fresh.subject]), [{ n: 0 }])
    })

    await t.test('daily counts past retention are pruned; the rest of the identity stays', async (t) => {
      const subject = `${TD}/k8s/prod/ns/ledger/sa/worker`
      const before = (await inventory.get(subject))!
      // 2030-06-13, the first day of the traffic, had tokens of each of the four identities.
      t.equal(await inventory.pruneDailyCounts(new Date(T0 - DAY)), 4)
      const after = (await inventory.get(subject))!
      t.same(after, { ...before, dailyTokens: before.dailyTokens.slice(1) })
    })
  })

  t.test(`ledger retention leaves the inventory on ${backend}`, async (t) => {
    const db = await open(t)
    const inventory = new SqlIdentityInventory(db)
    const partitions = new LedgerPartitions(db, 'day')
    const old = token(T0 - 100 * DAY, { subject: `${TD}/k8s/prod/ns/gone/sa/api` })
    const recorder = inventoryRecorder(db)
    await sqlLedgerStoreWithInventory(db, recorder).recordMany([old])
    await recorder.flush()
    const before = await inventory.get(old.subject)
    const dropped = await new LedgerRetention(partitions, 30, { info: () => {}, warn: () => {} }).apply(new Date(T0))
    t.ok(
      dropped.some((p) => p.name === 'ledger_rows_d20300307'),
      'the partition of its token is dropped',
    )
    t.same(await db.query('SELECT count(*)::int AS n FROM ledger_entries'), [{ n: 0 }])
    t.same(await inventory.get(old.subject), before)
    t.same(before?.dailyTokens, [{ day: '2030-03-07', tokens: 1 }])
  })

  t.test(`sources on ${backend}: the most recent, at most 32, refreshed when a new one comes`, async (t) => {
    const db = await open(t)
    const inventory = new SqlIdentityInventory(db)
    const recorder = inventoryRecorder(db)
    const store = sqlLedgerStoreWithInventory(db, recorder)
    const subject = `${TD}/k8s/prod/ns/pods/sa/api`
    const at = (i: number) => T0 + i * 1000
    await store.recordMany([token(at(0), { subject, sources: ['k8s:prod', 'k8s:prod:pod:p0'] })])
    await recorder.flush()
    // Only known sources: the order stays as it was, in the stored row and in what is gathered alike.
    await store.recordMany([token(at(1), { subject, sources: ['k8s:prod:pod:p0'] })])
    await store.recordMany([token(at(2), { subject, sources: ['k8s:prod'] })])
    await recorder.flush()
    t.same((await inventory.get(subject))?.sources, ['k8s:prod', 'k8s:prod:pod:p0'])
    // Half of the pods' batches written one by one, the other half gathered in memory and written at once.
    for (let pod = 1; pod <= 40; pod++) {
      await store.recordMany([token(at(2 + pod), { subject, sources: ['k8s:prod', `k8s:prod:pod:p${pod}`] })])
      if (pod <= 20) await recorder.flush()
    }
    await recorder.flush()
    const expected = ['k8s:prod', ...Array.from({ length: 31 }, (_, i) => `k8s:prod:pod:p${40 - i}`)]
    t.same((await inventory.get(subject))?.sources, expected, 'the broad source keeps coming with the new ones, the oldest pods fall off')
    t.same((await inventory.list({ limit: 5, source: 'k8s:prod:pod:p9' })).items, [], 'a source fallen off is not found')
  })
}

t.test('two writers (two pools, as two instances) on the same identities neither deadlock nor lose counts', async (t) => {
  const url = await freshPostgresDatabase(t)
  const open = () => {
    const db = createPostgresDatabase({ url, poolSize: 4 })
    t.teardown(() => db.close())
    return db
  }
  const [one, two] = [open(), open()]
  await migrate(one)
  const subjects = Array.from({ length: 12 }, (_, i) => `${TD}/k8s/prod/ns/shared/sa/s${String(i).padStart(2, '0')}`)
  const batch = (writer: number, n: number): LedgerEntry[] => {
    // Each writer's batches take the identities in a different order: locks would be taken crosswise if not sorted.
    const order = writer === 0 ? subjects : [...subjects].reverse()
    return order.map((subject, i) =>
      token(T0 + n * 1000 + i, { jti: randomUUID(), subject, grantIds: [GRANT_A, GRANT_B], scopes: ['ledger:read', 'ledger:write'] }),
    )
  }
  const writers = [one, two].map((db, writer) => {
    const recorder = inventoryRecorder(db)
    const store = sqlLedgerStoreWithInventory(db, recorder)
    // Each batch followed by a write of the roll-ups: the two instances' writes overlap, on the same rows.
    return Promise.all(
      Array.from({ length: 30 }, async (_, n) => {
        await store.recordMany(batch(writer, n))
        await recorder.flush()
      }),
    )
  })
  await Promise.all(writers)
  const inventory = new SqlIdentityInventory(one)
  const counts = await Promise.all(subjects.map(async (s) => (await inventory.get(s))?.dailyTokens))
  t.same(
    counts,
    subjects.map(() => [{ day: '2030-06-15', tokens: 60 }]),
  )
  t.same(sortedSources(await everyIdentity(inventory)), await inventoryFromLedger(one))
})
