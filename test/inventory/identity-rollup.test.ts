import t from 'tap'
import { MAX_IDENTITY_SOURCES, rollUp } from '../../src/inventory/identity-rollup.js'
import { ledgerEntry } from '../support/ledger.js'

/** A batch folded to one row per key, as the roll-up tables take it. */
const T0 = Date.UTC(2030, 5, 15, 23, 59, 58)
const A = 'spiffe://example.org/k8s/prod/ns/a/sa/api'
const B = 'spiffe://example.org/k8s/prod/ns/b/sa/api'
const G1 = '0190a1b2-0000-7000-8000-000000000001'
const G2 = '0190a1b2-0000-7000-8000-000000000002'

t.test('a batch folds to one row per identity, per (identity, grant, audience, scope), per (identity, day)', async (t) => {
  const at = (s: number) => new Date(T0 + s * 1000)
  const rollup = rollUp([
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
  ])
  t.same(rollup, {
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
    daily: [
      { subject: A, day: '2030-06-16', tokens: 1 },
      { subject: B, day: '2030-06-15', tokens: 1 },
      { subject: A, day: '2030-06-15', tokens: 1 },
    ],
  })
})

t.test('an identity keeps at most MAX_IDENTITY_SOURCES, the newest', async (t) => {
  const entries = Array.from({ length: 40 }, (_, i) => ledgerEntry(T0 + i * 1000, { subject: A, sources: [`pod:${i}`] }))
  const [identity] = rollUp(entries).identities
  t.same(
    identity?.sources,
    Array.from({ length: MAX_IDENTITY_SOURCES }, (_, i) => `pod:${39 - i}`),
  )
})
