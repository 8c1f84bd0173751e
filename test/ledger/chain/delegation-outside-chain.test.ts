import t from 'tap'
import { canonicalRowOf, rowHash } from '../../../src/ledger/chain/batch-hash.js'
import { LedgerChains } from '../../../src/ledger/chain/ledger-chains.js'
import { LedgerVerifier } from '../../../src/ledger/chain/ledger-verifier.js'
import { LedgerPartitions } from '../../../src/ledger/ledger-partitions.js'
import { SqlLedgerStore } from '../../../src/ledger/sql-ledger-store.js'
import { BACKENDS } from '../../support/databases.js'
import { ledgerEntry } from '../../support/ledger.js'

/**
 * A delegated or narrowed token's parent, ancestors and actors (migration 021) are outside the hash
 * chain's canonical row, as jkt is (README, "Tamper evidence"): the batch form stays v1, and a ledger
 * holding them verifies.
 */

const T0 = Date.UTC(2030, 5, 15, 12, 0, 0)
const CHAIN = '01900000-0000-7000-8000-00000000000a'
const PARENT = '0190a1b2-0000-7000-8000-0000000000aa'
const AGENT = 'spiffe://example.org/agents/summarizer'
const clock = { now: () => T0 + 60_000 }

const delegated = (at: number) =>
  ledgerEntry(at, { jkt: 'bm9uZQ', parentJti: PARENT, ancestorJtis: [PARENT], actors: [AGENT, 'spiffe://example.org/agents/planner'] })

t.test('the canonical row of a delegated token is that of the same token without delegation', async (t) => {
  const entry = delegated(T0)
  const { jkt: _jkt, parentJti: _parent, ancestorJtis: _ancestors, actors: _actors, ...plain } = entry
  t.strictSame(canonicalRowOf(entry), canonicalRowOf(plain))
  t.same(rowHash(canonicalRowOf(entry)), rowHash(canonicalRowOf(plain)))
})

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`a chained ledger holding delegated tokens verifies on ${backend}`, async (t) => {
    const db = await open(t)
    const store = new SqlLedgerStore(db, {
      partitions: new LedgerPartitions(db, 'day'),
      maxTtlSeconds: 3600,
      chains: new LedgerChains(clock, 1, undefined, () => CHAIN),
    })
    await store.recordMany([delegated(T0), ledgerEntry(T0 + 1), delegated(T0 + 2)])
    await store.recordMany([delegated(T0 + 1000), ledgerEntry(T0 + 1001)])
    const verification = await new LedgerVerifier(db).verify()
    t.same(
      { intact: verification.intact, checked: verification.checked, findings: verification.findings },
      { intact: true, checked: { chains: 1, batches: 2, rows: 5 }, findings: [] },
    )
  })
}
