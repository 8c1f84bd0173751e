import t from 'tap'
import { ServiceUnavailableError } from '../../src/errors.js'
import { FixedClock } from '../../src/lib/clock.js'
import { RevocationCache } from '../../src/revocation/revocation-cache.js'
import type { Revocation } from '../../src/revocation/revocation.js'
import { globMatches } from '../../src/lib/glob.js'
import { random, randomPath } from '../support/random-paths.js'

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
  await t.rejects(cache.findRevoked([api]), new ServiceUnavailableError('revocation state is not loaded yet', 'revocations_unavailable'))
  cache.snapshot([])
  clock.advance(3_600_000)
  monotonic += 5000
  t.equal(await cache.findRevoked([api]), undefined, 'at the bound: still current (and a jump of the wall clock does not count)')
  monotonic += 1
  await t.rejects(
    cache.findRevoked([api]),
    new ServiceUnavailableError(
      'revocation state cannot be checked: no word from the revocation store for 5.0 s',
      'revocations_unavailable',
    ),
  )
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

t.test('every target of an exchange is checked: its identity, each grant and each source, whichever is revoked', async (t) => {
  const grantId = '7c1d2e3f-0000-4000-8000-0000000000aa'
  const otherGrant = '7c1d2e3f-0000-4000-8000-0000000000bb'
  const exchange = [
    api,
    { kind: 'grant', value: otherGrant },
    { kind: 'grant', value: grantId },
    { kind: 'source', value: 'k8s:prod' },
    { kind: 'source', value: 'k8s:prod:node:node-a' },
  ] as const
  const cases: [string, Revocation][] = [
    ['the identity', revocation('subject', api.value)],
    ['a glob over the identity', revocation('subject', 'spiffe://example.org/k8s/*/ns/payments/sa/*')],
    ['the second of two grants', revocation('grant', grantId)],
    ['the cluster', revocation('source', 'k8s:prod')],
    ['the node, the last target', revocation('source', 'k8s:prod:node:node-a')],
  ]
  for (const [what, revoked] of cases) {
    const cache = new RevocationCache(new FixedClock(T0), 5000)
    cache.snapshot([revoked])
    t.same(await cache.findRevoked([...exchange]), revoked, what)
  }
  const cache = new RevocationCache(new FixedClock(T0), 5000)
  cache.snapshot([
    revocation('source', 'k8s:staging'),
    revocation('grant', '7c1d2e3f-0000-4000-8000-0000000000cc'),
    revocation('subject', 'spiffe://example.org/k8s/prod/ns/search/**'),
  ])
  t.equal(await cache.findRevoked([...exchange]), undefined, 'revocations of other things refuse nothing')
})

t.test('an expired or lifted revocation refuses nothing, exact or glob, at the millisecond it ends', async (t) => {
  const clock = new FixedClock(T0)
  const cache = new RevocationCache(clock, Number.POSITIVE_INFINITY)
  const until = new Date(T0 + 60_000)
  const exact = revocation('subject', api.value, { expiresAt: until })
  const glob = revocation('subject', 'spiffe://example.org/k8s/prod/**', { expiresAt: new Date(T0 + 120_000) })
  const lifted = revocation('source', 'k8s:prod', { liftedAt: new Date(T0 - 1000), liftedBy: 'responder', liftReason: 'all clear' })
  cache.snapshot([exact, glob, lifted])
  t.equal(await cache.findRevoked([{ kind: 'source', value: 'k8s:prod' }]), undefined, 'a lifted revocation')
  clock.set(T0 + 59_999)
  t.equal(await cache.findRevoked([api]), exact, 'the exact one, a millisecond before it ends')
  clock.set(T0 + 60_000)
  t.equal(await cache.findRevoked([api]), glob, 'then only the glob')
  clock.set(T0 + 120_000)
  t.equal(await cache.findRevoked([api]), undefined, 'then nothing')
})

t.test('with 3,000 standing subject globs, a check finds a revocation exactly when a full scan would', async (t) => {
  const next = random(11)
  const clock = new FixedClock(T0)
  const cache = new RevocationCache(clock, Number.POSITIVE_INFINITY)
  // Globs that revoke a whole trust domain or more would answer every check alike: left out.
  const values = Array.from({ length: 6000 }, () => randomPath(next, true)).filter((value) => /^spiffe:\/\/example\.org\/[^*]/.test(value))
  const globs = values.slice(0, 3000).map((value) => revocation('subject', value, next() < 0.2 ? { expiresAt: new Date(T0 + 60_000) } : {}))
  cache.snapshot(globs.slice(0, 2000))
  for (const glob of globs.slice(2000)) cache.change(glob)
  const lifted = new Set<string>()
  for (const glob of globs.filter(() => next() < 0.3)) {
    cache.change({ ...glob, liftedAt: new Date(T0), liftedBy: 'responder', liftReason: 'done', seq: nextSeq++ })
    lifted.add(glob.id)
  }
  clock.set(T0 + 60_000)
  const standing = globs.filter((g) => !lifted.has(g.id) && g.expiresAt === null)
  let differences = 0
  let revoked = 0
  for (let i = 0; i < 3000; i++) {
    const subject = randomPath(next, false)
    const expected = standing.filter((g) => globMatches(g.value, subject))
    const found = await cache.findRevoked([{ kind: 'subject', value: subject }])
    if (expected.length > 0) revoked++
    if (found === undefined ? expected.length > 0 : !expected.includes(found)) {
      if (++differences <= 3) t.same(found?.value, expected[0]?.value, subject)
    }
  }
  t.equal(differences, 0, '3000 subjects checked alike')
  t.ok(revoked > 100 && revoked < 2900, `both answers occur often enough to prove something (${revoked} revoked)`)
})
