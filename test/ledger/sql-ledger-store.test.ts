import { randomUUID } from 'node:crypto'
import t from 'tap'
import { ServiceUnavailableError } from '../../src/errors.js'
import type { LedgerEntry } from '../../src/ledger/ledger-store.js'
import { sqlLedgerStore } from '../support/ledger.js'
import { BACKENDS } from '../support/databases.js'

/** The write side of the ledger; what can be found in it is test/ledger/ledger-search.test.ts. */
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0)

function entry(overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  return {
    jti: randomUUID(),
    subject: 'spiffe://example.org/k8s/prod/ns/payments/sa/api',
    attestor: 'prod',
    attestorKind: 'kubernetes',
    attestationFingerprint: 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg',
    sources: ['k8s:prod', 'k8s:prod:node:node-a'],
    audience: 'ledger-api',
    scopes: ['ledger:read'],
    grantIds: [randomUUID()],
    issuedAt: new Date(T0),
    expiresAt: new Date(T0 + 300_000),
    clientAddress: '10.0.0.7',
    requestId: 'req-1',
    ...overrides,
  }
}

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`ledger store contract on ${backend}`, async (t) => {
    const ledger = sqlLedgerStore(await open(t))

    await t.test('a recorded entry reads back exactly', async (t) => {
      const recorded = entry()
      await ledger.record(recorded)
      t.same(await ledger.get(recorded.jti), recorded)
      t.equal(await ledger.get(randomUUID()), undefined)
    })

    await t.test('a delegated token reads back with its parent, ancestors and actors; an ordinary one without them', async (t) => {
      const parent = randomUUID()
      const delegated = entry({
        parentJti: parent,
        ancestorJtis: [parent, randomUUID()],
        actors: ['spiffe://example.org/agents/summarizer', 'spiffe://example.org/k8s/prod/ns/tools/sa/gateway'],
        actorSources: ['k8s:prod:pod:summarizer-pod'],
        actorGrantIds: [randomUUID()],
      })
      const ordinary = entry()
      // One statement for both, as the batching ledger writes them: each row's columns its own.
      await ledger.recordMany([delegated, ordinary])
      t.strictSame(await ledger.get(delegated.jti), delegated)
      const readBack = await ledger.get(ordinary.jti)
      t.strictSame(readBack, ordinary)
      t.same(
        Object.keys(readBack ?? {}).filter((key) => ['parentJti', 'ancestorJtis', 'actors', 'actorSources', 'actorGrantIds'].includes(key)),
        [],
      )
    })

    await t.test('a jti is recorded once: a duplicate is refused as unavailable, never overwritten', async (t) => {
      const recorded = entry()
      await ledger.record(recorded)
      await t.rejects(ledger.record({ ...recorded, subject: 'spiffe://example.org/other' }), ServiceUnavailableError)
      t.equal((await ledger.get(recorded.jti))?.subject, recorded.subject)
    })
  })
}
