import t from 'tap'
import { ServiceUnavailableError } from '../../src/errors.js'
import { FixedClock } from '../../src/lib/clock.js'
import { MemoryRevocationStore } from '../../src/revocation/memory-revocation-store.js'
import { RedisRevocationStore } from '../../src/revocation/redis-revocation-store.js'
import type { RevocationStore } from '../../src/revocation/revocation-store.js'
import { REDIS_URL, uniqueRedisPrefix } from '../helpers/servers.js'

const subject = { kind: 'subject', value: 'spiffe://example.org/k8s/prod/ns/payments/sa/api' } as const
const grant = { kind: 'grant', value: '7c1d2e3f-0000-4000-8000-000000000001' } as const
const source = { kind: 'source', value: 'k8s:prod:node:node-a' } as const

const backends: Record<string, (clock: FixedClock) => Promise<RevocationStore>> = {
  async redis(clock) {
    const store = new RedisRevocationStore({ url: REDIS_URL, keyPrefix: uniqueRedisPrefix(), commandTimeoutMs: 1000 }, clock)
    await store.ready()
    return store
  },
  async memory(clock) {
    return new MemoryRevocationStore(clock)
  },
}

for (const [backend, open] of Object.entries(backends)) {
  t.test(`revocation store contract on ${backend}`, async (t) => {
    const clock = new FixedClock(Date.now())
    const store = await open(clock)
    t.teardown(() => store.close())

    t.equal(await store.findRevoked([subject, grant, source]), undefined, 'nothing is revoked at first')
    t.equal(await store.findRevoked([]), undefined)

    await store.revoke(grant)
    t.same(await store.findRevoked([subject, grant, source]), grant, 'a revoked grant is found among the targets')
    t.equal(await store.findRevoked([subject, source]), undefined, 'and only where it is asked about')
    t.equal(await store.findRevoked([{ kind: 'subject', value: grant.value }]), undefined, 'kinds do not mix')

    await store.lift(grant)
    t.equal(await store.findRevoked([grant]), undefined, 'a lifted revocation no longer applies')

    // Expiry is real time on Redis; keep it short and wait it out.
    clock.set(Date.now())
    await store.revoke(source, new Date(clock.now() + 300))
    t.same(await store.findRevoked([source]), source)
    await new Promise((resolve) => setTimeout(resolve, 400))
    clock.set(Date.now())
    t.equal(await store.findRevoked([source]), undefined, 'a revocation with an expiry is forgotten after it')

    await store.revoke(subject, new Date(clock.now() - 1000))
    t.equal(await store.findRevoked([subject]), undefined, 'an already expired revocation is not stored')
  })
}

t.test('a Redis store that cannot reach Redis fails closed at once', async (t) => {
  const store = new RedisRevocationStore({ url: 'redis://127.0.0.1:1', keyPrefix: uniqueRedisPrefix(), commandTimeoutMs: 500 }, new FixedClock(0))
  t.teardown(() => store.close())
  const started = Date.now()
  await t.rejects(store.findRevoked([subject]), new ServiceUnavailableError('revocation state cannot be checked'))
  t.ok(Date.now() - started < 500, 'without waiting for a reconnect')
  await t.rejects(store.ready(200), ServiceUnavailableError)
})
