import t, { type Test } from 'tap'
import type { Database } from '../../src/db/database.js'
import { migrate, readMigrations } from '../../src/db/migrations.js'
import { createPGliteDatabase } from '../../src/db/pglite.js'
import { createPostgresDatabase } from '../../src/db/postgres.js'
import { RollupAccumulator } from '../../src/inventory/rollup-accumulator.js'
import { SqlIdentityInventory } from '../../src/inventory/sql-identity-inventory.js'
import type { LedgerEntry } from '../../src/ledger/ledger-store.js'
import { uuidV7 } from '../../src/lib/uuid-v7.js'
import { BACKENDS } from '../support/databases.js'
import { inventoryRecorder, ledgerEntry, sqlLedgerStoreWithInventory } from '../support/ledger.js'
import { freshPostgresDatabase } from '../support/servers.js'

/**
 * The inventory shows delegations (issue 14): per subject and current actor (a token's `act.sub`,
 * the ledger's actors[0]), how many tokens and when first and last; per actor, whom it acted for.
 */

const T0 = Date.UTC(2030, 5, 15, 12)
const MINUTE = 60_000
const TD = 'spiffe://example.org'
const PAYMENTS = `${TD}/k8s/prod/ns/payments/sa/api`
const SEARCH = `${TD}/k8s/prod/ns/search/sa/api`
const AGENT = `${TD}/agents/summarizer`
const GATEWAY = `${TD}/k8s/prod/ns/tools/sa/gateway`
const GRANT = '0190a1b2-0000-7000-8000-00000000000a'
const at = (minutes: number) => new Date(T0 + minutes * MINUTE)

function token(minutes: number, subject: string, actors?: string[]): LedgerEntry {
  const issued = T0 + minutes * MINUTE
  return ledgerEntry(issued, { jti: uuidV7(issued), subject, grantIds: [GRANT], ...(actors === undefined ? {} : { actors }) })
}

/** Tokens for payments (two by the agent, one by the gateway acting for the agent, one by itself) and for search (one by the agent). */
const TRAFFIC = [
  token(0, PAYMENTS, [AGENT]),
  token(1, PAYMENTS),
  token(2, SEARCH, [AGENT]),
  token(3, PAYMENTS, [GATEWAY, AGENT]),
  token(5, PAYMENTS, [AGENT]),
]

t.test('folded in memory: one delegation row per subject and current actor, counted, its times widened', async (t) => {
  const accumulator = new RollupAccumulator()
  // Out of issue order, in two batches, as concurrent commits hand them over.
  accumulator.fold([TRAFFIC[4]!, TRAFFIC[1]!, TRAFFIC[2]!])
  accumulator.fold([TRAFFIC[3]!, TRAFFIC[0]!])
  // Identities in the order they were last touched (payments again by the second batch).
  t.same(accumulator.rollup().delegations, [
    { subject: SEARCH, actor: AGENT, tokens: 1, firstSeen: at(2), lastSeen: at(2) },
    { subject: PAYMENTS, actor: AGENT, tokens: 2, firstSeen: at(0), lastSeen: at(5) },
    { subject: PAYMENTS, actor: GATEWAY, tokens: 1, firstSeen: at(3), lastSeen: at(3) },
  ])
  // Two identities, their access rows (the audience's, no scope), one day each, and three delegations.
  t.equal(accumulator.size, 2 + 2 + 2 + 3)
})

t.test('a write that failed is folded back: its delegation counts add to what came since', async (t) => {
  const accumulator = new RollupAccumulator()
  accumulator.fold([TRAFFIC[0]!, TRAFFIC[3]!])
  const failed = accumulator.take()
  accumulator.fold([TRAFFIC[4]!])
  accumulator.restoreOlder(failed)
  t.same(accumulator.rollup().delegations, [
    { subject: PAYMENTS, actor: AGENT, tokens: 2, firstSeen: at(0), lastSeen: at(5) },
    { subject: PAYMENTS, actor: GATEWAY, tokens: 1, firstSeen: at(3), lastSeen: at(3) },
  ])
  t.equal(accumulator.size, 1 + 1 + 1 + 2)
})

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`delegations in the inventory on ${backend}`, async (t) => {
    const db = await open(t)
    const recorder = inventoryRecorder(db)
    const ledger = sqlLedgerStoreWithInventory(db, recorder)
    const inventory = new SqlIdentityInventory(db)
    // Two writes of the roll-ups: the second adds to the rows the first wrote.
    await ledger.recordMany(TRAFFIC.slice(0, 3))
    await recorder.flush()
    await ledger.recordMany(TRAFFIC.slice(3))
    await recorder.flush()
    // The agent got a token of its own too: it is an identity, and shows whom it acted for.
    await ledger.record(token(6, AGENT))
    await recorder.flush()

    const payments = await inventory.get(PAYMENTS)
    t.same(payments && { delegations: payments.delegations, actedFor: payments.actedFor }, {
      // The most recently seen first.
      delegations: [
        { actor: AGENT, tokens: 2, firstSeen: at(0), lastSeen: at(5) },
        { actor: GATEWAY, tokens: 1, firstSeen: at(3), lastSeen: at(3) },
      ],
      actedFor: [],
    })
    const agent = await inventory.get(AGENT)
    t.same(agent && { delegations: agent.delegations, actedFor: agent.actedFor }, {
      delegations: [],
      actedFor: [
        { subject: PAYMENTS, tokens: 2, firstSeen: at(0), lastSeen: at(5) },
        { subject: SEARCH, tokens: 1, firstSeen: at(2), lastSeen: at(2) },
      ],
    })
    // A team's view: only the identities under its prefixes.
    t.same((await inventory.get(AGENT, [`${TD}/k8s/prod/ns/search`]))?.actedFor, [
      { subject: SEARCH, tokens: 1, firstSeen: at(2), lastSeen: at(2) },
    ])
    t.same((await inventory.get(AGENT, []))?.actedFor, [])
    const search = await inventory.get(SEARCH)
    t.same(search?.delegations, [{ actor: AGENT, tokens: 1, firstSeen: at(2), lastSeen: at(2) }])
  })
}

const UNMIGRATED = {
  async postgres(t: Test): Promise<Database> {
    const db = createPostgresDatabase({ url: await freshPostgresDatabase(t), poolSize: 2 })
    t.teardown(() => db.close())
    return db
  },
  async pglite(t: Test): Promise<Database> {
    const db = await createPGliteDatabase()
    t.teardown(() => db.close())
    return db
  },
}

for (const [backend, open] of Object.entries(UNMIGRATED)) {
  t.test(`migration 022 on top of an inventory with data on ${backend}: what was there stays, delegations fill from then on`, async (t) => {
    const db = await open(t)
    await migrate(
      db,
      readMigrations().filter((m) => m.version < '022'),
    )
    // The release before: tokens issued to their subjects themselves, rolled up without delegations
    // (handed to the roll-ups as its ledger does once they are written; this release's ledger needs 023).
    const recorder = inventoryRecorder(db)
    recorder.committed([token(-2, PAYMENTS), token(-1, SEARCH)])
    await recorder.flush()
    const before = await new SqlIdentityInventory(db).list({ limit: 10 })

    t.same(
      await migrate(
        db,
        readMigrations().filter((m) => m.version < '023'),
      ),
      ['022_identity_delegations'],
    )
    await migrate(db)
    const ledger = sqlLedgerStoreWithInventory(db, recorder)
    await ledger.recordMany([token(0, PAYMENTS, [AGENT]), token(1, PAYMENTS, [AGENT])])
    await recorder.flush()
    const inventory = new SqlIdentityInventory(db)
    const payments = await inventory.get(PAYMENTS)
    t.same(payments, {
      ...before.items[0],
      lastSeen: at(1),
      access: [{ grantId: GRANT, audience: 'ledger-api', firstUsed: at(-2), lastUsed: at(1) }],
      dailyTokens: [{ day: '2030-06-15', tokens: 3 }],
      delegations: [{ actor: AGENT, tokens: 2, firstSeen: at(0), lastSeen: at(1) }],
      actedFor: [],
    })
    t.same(await inventory.get(SEARCH), {
      ...before.items[1],
      dailyTokens: [{ day: '2030-06-15', tokens: 1 }],
      delegations: [],
      actedFor: [],
    })
  })
}
