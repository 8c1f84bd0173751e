import t from 'tap'
import { activatesAt, dueSteps, removeAfter, type KeyTimings } from '../../src/keys/key-lifecycle.js'
import type { KeyState, SigningKey } from '../../src/keys/signing-key.js'

/** The rules alone, with a frozen clock: every boundary is checked on both sides. */

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0)
const MINUTE = 60_000
const timings: KeyTimings = {
  jwksMaxAgeMs: 5 * MINUTE,
  propagationMs: 90_000,
  maxTokenLifetimeMs: 60 * MINUTE,
  rotateEveryMs: 30 * 86_400_000,
}

function key(kid: string, state: KeyState, times: Partial<SigningKey> = {}): SigningKey {
  return {
    kid,
    alg: 'ES256',
    state,
    publicJwk: { kty: 'EC', kid, alg: 'ES256', use: 'sig' },
    signer: 'software',
    privateKey: Buffer.alloc(1),
    kekId: 'k',
    origin: 'generated',
    createdAt: new Date(T0),
    publishedAt: new Date(T0),
    activatedAt: state === 'next' ? null : new Date(T0),
    retiredAt: null,
    removeAfter: null,
    removedAt: null,
    revokedAt: null,
    revokedBy: null,
    revokeReason: null,
    ...times,
  }
}

t.test('a next key signs only once the JWKS cache lifetime and the propagation bound have passed since it was published', async (t) => {
  const current = key('old', 'current')
  const next = key('new', 'next', { publishedAt: new Date(T0 + MINUTE) })
  const due = T0 + MINUTE + 5 * MINUTE + 90_000
  t.equal(activatesAt(next, timings).getTime(), due)
  t.same(dueSteps([current, next], new Date(due - 1), timings), [], 'not a millisecond early')
  t.same(dueSteps([current, next], new Date(due), timings), [{ action: 'activate', kid: 'new', retire: 'old' }])
  t.same(dueSteps([next], new Date(due), timings), [{ action: 'activate', kid: 'new' }], 'with no current key, nothing to retire')
})

t.test(
  'a retired key stays published until a token signed just before it retired, by a replica that had not heard, has expired',
  async (t) => {
    const retiredAt = new Date(T0 + 10 * MINUTE)
    const until = removeAfter(retiredAt, timings)
    t.equal(until.getTime(), retiredAt.getTime() + 60 * MINUTE + 90_000)
    const retired = key('old', 'retired', { retiredAt, removeAfter: until })
    t.same(dueSteps([retired], new Date(until.getTime() - 1), timings), [], 'not a millisecond early')
    t.same(dueSteps([retired], until, timings), [{ action: 'remove', kid: 'old' }])
  },
)

t.test('on schedule, the next key is made early enough to take over when the current one has signed for rotateEvery', async (t) => {
  const current = key('cur', 'current', { activatedAt: new Date(T0) })
  const makeAt = T0 + timings.rotateEveryMs - timings.jwksMaxAgeMs - timings.propagationMs
  t.same(dueSteps([current], new Date(makeAt - 1), timings), [])
  t.same(dueSteps([current], new Date(makeAt), timings), [{ action: 'create-next' }])
  t.equal(activatesAt({ publishedAt: new Date(makeAt) }, timings).getTime(), T0 + timings.rotateEveryMs, 'and it signs right on schedule')
  t.same(dueSteps([current, key('n', 'next', { publishedAt: new Date(makeAt) })], new Date(makeAt), timings), [], 'one next key at most')
  t.same(dueSteps([current], new Date(T0 + 10 * timings.rotateEveryMs), { ...timings, rotateEveryMs: 0 }), [], '0: only on demand')
})

t.test('removed and revoked keys are left alone', async (t) => {
  const far = new Date(T0 + 100 * 86_400_000)
  const keys = [key('r', 'removed', { removeAfter: new Date(T0) }), key('v', 'revoked', { removeAfter: new Date(T0) })]
  t.same(dueSteps(keys, far, timings), [])
})
