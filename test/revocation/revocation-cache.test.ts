import t from 'tap'
import { ServiceUnavailableError } from '../../src/errors.js'
import { FixedClock } from '../../src/lib/clock.js'
import { RevocationCache } from '../../src/revocation/revocation-cache.js'
import type { Revocation } from '../../src/revocation/revocation.js'

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0)
let nextSeq = 1n

function revocation(kind: Revocation['kind'], value: string, overrides: Partial<Revocation> = {}): Revocation {
  return {
    id: `00000000-0000-4000-8000-${String(nextSeq).padStart(12, '0')}`,
    kind,
    value,
    reason: 'test',
    createdAt: new Date(T0),
    createdBy: 'responder',
    expiresAt: null,
    liftedAt: null,
    liftedBy: null,
    liftReason: null,
    seq: nextSeq++,
    ...overrides,
  }
}

const api = { kind: 'subject', value: 'spiffe://example.org/k8s/prod/ns/payments/sa/api' } as const

t.test('finds exact targets and subject globs, never across kinds', async (t) => {
  const cache = new RevocationCache(new FixedClock(T0), 5000)
  const glob = revocation('subject', 'spiffe://example.org/k8s/prod/ns/payments/**')
  const grant = revocation('grant', '7c1d2e3f-0000-4000-8000-000000000001')
  cache.snapshot([glob, grant])
  t.equal(await cache.findRevoked([api]), glob)
  t.equal(await cache.findRevoked([{ kind: 'subject', value: 'spiffe://example.org/k8s/prod/ns/search/sa/api' }]), undefined)
  t.equal(await cache.findRevoked([{ kind: 'grant', value: grant.value }]), grant)
  t.equal(await cache.findRevoked([{ kind: 'source', value: grant.value }]), undefined, 'kinds do not mix')
  t.equal(await cache.findRevoked([{ kind: 'subject', value: 'spiffe://example.org/k8s/prod/ns/payments/**' }]), glob)
})

t.test('changes apply in order; a late or repeated change is ignored', async (t) => {
  const cache = new RevocationCache(new FixedClock(T0), 5000)
  cache.snapshot([])
  const revoked = revocation('subject', api.value)
  const lifted = { ...revoked, liftedAt: new Date(T0 + 1000), liftedBy: 'responder', liftReason: 'all clear', seq: nextSeq++ }
  cache.change(revoked)
  t.equal(await cache.findRevoked([api]), revoked)
  cache.change(lifted)
  t.equal(await cache.findRevoked([api]), undefined, 'lifted')
  cache.change(revoked)
  t.equal(await cache.findRevoked([api]), undefined, 'the older change arriving late does not bring it back')
  cache.snapshot([revoked])
  t.equal(await cache.findRevoked([api]), undefined, 'nor does a snapshot taken before the lift')
})

t.test('a revocation stops mattering when it expires', async (t) => {
  const clock = new FixedClock(T0)
  const cache = new RevocationCache(clock, Number.POSITIVE_INFINITY)
  const token = revocation('token', '2f0c6d1e-0000-4000-8000-000000000001', { expiresAt: new Date(T0 + 300_000) })
  cache.snapshot([token])
  t.equal(await cache.findRevoked([token]), token)
  clock.advance(300_000)
  t.equal(await cache.findRevoked([token]), undefined)
})

t.test('without a snapshot, or out of touch beyond the bound, every check fails closed', async (t) => {
  const clock = new FixedClock(T0)
  let monotonic = 0
  const cache = new RevocationCache(clock, 5000, () => monotonic)
  await t.rejects(cache.findRevoked([api]), new ServiceUnavailableError('revocation state is not loaded yet'))
  cache.snapshot([])
  clock.advance(3_600_000)
  monotonic += 5000
  t.equal(await cache.findRevoked([api]), undefined, 'at the bound: still current (and a jump of the wall clock does not count)')
  monotonic += 1
  await t.rejects(cache.findRevoked([api]), new ServiceUnavailableError('revocation state cannot be checked: no word from the revocation store for 5.0 s'))
  t.equal(cache.isCurrent(), false)
  cache.contact()
  t.equal(await cache.findRevoked([api]), undefined, 'contact makes it current again')
})

t.test('expired revocations leave memory when they expire, and the lifts remembered are bounded', async (t) => {
  const clock = new FixedClock(T0)
  const cache = new RevocationCache(clock, Number.POSITIVE_INFINITY)
  const token = revocation('token', '2f0c6d1e-0000-4000-8000-000000000002', { expiresAt: new Date(T0 + 60_000) })
  const subject = revocation('subject', api.value)
  cache.snapshot([subject])
  cache.change(token)
  t.same(cache.size(), { revocations: 2, tombstones: 0 })
  clock.advance(60_000)
  cache.contact()
  t.same(cache.size(), { revocations: 1, tombstones: 0 }, 'the expired token revocation is gone at the next contact')
  cache.change({ ...token, seq: token.seq })
  t.same(cache.size(), { revocations: 1, tombstones: 0 }, 'and a late copy of it does not come back')

  for (let i = 0; i < 10_005; i++) {
    const revoked = revocation('grant', `7c1d2e3f-0000-4000-8000-${String(i).padStart(12, '0')}`)
    cache.change(revoked)
    cache.change({ ...revoked, liftedAt: new Date(T0), liftedBy: 'responder', liftReason: 'done', seq: nextSeq++ })
  }
  t.same(cache.size(), { revocations: 1, tombstones: 10_000 }, 'at most 10 000 lifts are remembered')
})
