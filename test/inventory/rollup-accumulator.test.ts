import t from 'tap'
import { MAX_IDENTITY_SOURCES } from '../../src/inventory/identity-rollup.js'
import { RollupAccumulator } from '../../src/inventory/rollup-accumulator.js'
import type { LedgerEntry } from '../../src/ledger/ledger-store.js'
import { ledgerEntry } from '../support/ledger.js'

/** Batches folded to one row per key, as the roll-up tables take them. */
const T0 = Date.UTC(2030, 5, 15, 23, 59, 58)
const A = 'spiffe://example.org/k8s/prod/ns/a/sa/api'
const B = 'spiffe://example.org/k8s/prod/ns/b/sa/api'
const G1 = '0190a1b2-0000-7000-8000-000000000001'
const G2 = '0190a1b2-0000-7000-8000-000000000002'
const at = (s: number) => new Date(T0 + s * 1000)

function folded(...batches: LedgerEntry[][]) {
  const accumulator = new RollupAccumulator()
  for (const batch of batches) accumulator.fold(batch)
  return { size: accumulator.size, ...accumulator.rollup() }
}

t.test('a batch folds to one row per identity, per (identity, grant, audience, scope), per (identity, day)', async (t) => {
  t.same(
    folded([
      ledgerEntry(T0 + 3000, {
        subject: A,
        attestor: 'new',
        sources: ['k8s:prod', 'pod:2'],
        audience: 'x',
        scopes: ['r'],
        grantIds: [G1, G2],
      }),
      ledgerEntry(T0, { subject: A, attestor: 'old', sources: ['k8s:prod', 'pod:1'], audience: 'x', scopes: [], grantIds: [G1] }),
      ledgerEntry(T0 + 1000, { subject: B, audience: 'y', scopes: ['w'], grantIds: [G2] }),
    ]),
    {
      size: 11,
      identities: [
        {
          subject: A,
          attestor: 'new',
          attestorKind: 'kubernetes',
          sources: ['k8s:prod', 'pod:2', 'pod:1'],
          firstSeen: at(0),
          lastSeen: at(3),
        },
        { subject: B, attestor: 'prod', attestorKind: 'kubernetes', sources: ['k8s:prod'], firstSeen: at(1), lastSeen: at(1) },
      ],
      access: [
        { subject: A, grantId: G1, audience: 'x', scope: '', firstUsed: at(0), lastUsed: at(3) },
        { subject: A, grantId: G1, audience: 'x', scope: 'r', firstUsed: at(3), lastUsed: at(3) },
        { subject: A, grantId: G2, audience: 'x', scope: '', firstUsed: at(3), lastUsed: at(3) },
        { subject: A, grantId: G2, audience: 'x', scope: 'r', firstUsed: at(3), lastUsed: at(3) },
        { subject: B, grantId: G2, audience: 'y', scope: '', firstUsed: at(1), lastUsed: at(1) },
        { subject: B, grantId: G2, audience: 'y', scope: 'w', firstUsed: at(1), lastUsed: at(1) },
      ],
      // 23:59:58 and :59 are one day, 00:00:01 the next.
      delegations: [],
      daily: [
        { subject: A, day: '2030-06-16', tokens: 1 },
        { subject: A, day: '2030-06-15', tokens: 1 },
        { subject: B, day: '2030-06-15', tokens: 1 },
      ],
    },
  )
})

t.test('later batches widen the times and add up the days, whatever order their entries come in', async (t) => {
  const rollup = folded(
    [ledgerEntry(T0, { subject: A, attestor: 'middle', sources: ['k8s:prod'], scopes: [], grantIds: [G1] })],
    // Issued after the first batch's entry, then one issued before it, committed in one later batch.
    [
      ledgerEntry(T0 + 1000, { subject: A, attestor: 'newest', sources: ['pod:2'], scopes: [], grantIds: [G1] }),
      ledgerEntry(T0 - 1000, { subject: A, attestor: 'oldest', sources: ['pod:0'], scopes: [], grantIds: [G1] }),
    ],
  )
  t.same(rollup, {
    size: 3,
    identities: [
      {
        subject: A,
        attestor: 'newest',
        attestorKind: 'kubernetes',
        sources: ['pod:2', 'k8s:prod', 'pod:0'],
        firstSeen: at(-1),
        lastSeen: at(1),
      },
    ],
    access: [{ subject: A, grantId: G1, audience: 'ledger-api', scope: '', firstUsed: at(-1), lastUsed: at(1) }],
    delegations: [],
    daily: [{ subject: A, day: '2030-06-15', tokens: 3 }],
  })
})

t.test('an audience and a scope that concatenate alike are rows of their own', async (t) => {
  const { access } = folded([
    ledgerEntry(T0, { subject: A, audience: 'ab', scopes: ['c'], grantIds: [G1] }),
    ledgerEntry(T0, { subject: A, audience: 'a', scopes: ['bc'], grantIds: [G1] }),
  ])
  t.same(
    access.map((row) => [row.audience, row.scope]),
    [
      ['ab', ''],
      ['ab', 'c'],
      ['a', ''],
      ['a', 'bc'],
    ],
  )
})

t.test('an identity keeps at most MAX_IDENTITY_SOURCES, the newest', async (t) => {
  const entries = Array.from({ length: 40 }, (_, i) => ledgerEntry(T0 + i * 1000, { subject: A, sources: [`pod:${i}`] }))
  const [identity] = folded(entries).identities
  t.same(
    identity?.sources,
    Array.from({ length: MAX_IDENTITY_SOURCES }, (_, i) => `pod:${39 - i}`),
  )
})

t.test('what is dropped first is the identity touched longest ago, with all its rows', async (t) => {
  const accumulator = new RollupAccumulator()
  accumulator.fold([
    ledgerEntry(T0, { subject: A, scopes: [], grantIds: [G1] }),
    ledgerEntry(T0, { subject: B, scopes: [], grantIds: [G1] }),
  ])
  accumulator.fold([ledgerEntry(T0 + 1000, { subject: A, scopes: [], grantIds: [G1] })])
  t.equal(accumulator.size, 6)
  t.equal(accumulator.dropOldest(5), 3, 'B, three rows')
  t.same(
    accumulator.rollup().identities.map((identity) => identity.subject),
    [A],
  )
})
