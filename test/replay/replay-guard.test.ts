import t from 'tap'
import { ServiceUnavailableError } from '../../src/errors.js'
import { FixedClock } from '../../src/lib/clock.js'
import { MemoryReplayGuard, RedisReplayGuard, type ReplayGuard } from '../../src/replay/replay-guard.js'
import { REDIS_URL, uniqueRedisPrefix } from '../helpers/servers.js'

const guards: Record<string, (clock: FixedClock) => ReplayGuard> = {
  redis: (clock) => new RedisReplayGuard({ url: REDIS_URL, keyPrefix: uniqueRedisPrefix(), commandTimeoutMs: 1000 }, clock),
  memory: (clock) => new MemoryReplayGuard(clock),
}

for (const [name, open] of Object.entries(guards)) {
  t.test(`replay guard contract on ${name}`, async (t) => {
    const clock = new FixedClock(Date.now())
    const a = open(clock)
    t.teardown(() => a.close())
    if (a instanceof RedisReplayGuard) await a.ready()
    const until = new Date(clock.now() + 300)
    t.equal(await a.claim('jwt:https://issuer:jti-1', until), true, 'the first use is accepted')
    t.equal(await a.claim('jwt:https://issuer:jti-1', until), false, 'a second use within its lifetime is a replay')
    t.equal(await a.claim('jwt:https://issuer:jti-2', until), true, 'another attestation is its own')
    const [first, second] = await Promise.all([a.claim('race', until), a.claim('race', until)])
    t.same([first, second].sort(), [false, true], 'of two at once, exactly one wins')
    if (name === 'redis') {
      const b = open(clock)
      t.teardown(() => b.close())
      await (b as RedisReplayGuard).ready()
      // b has its own prefix: a guard only sees claims under its own keys, as instances of one deployment share one.
      t.equal(await b.claim('jwt:https://issuer:jti-1', until), true)
    }
    await new Promise((resolve) => setTimeout(resolve, 350))
    clock.set(Date.now())
    t.equal(await a.claim('jwt:https://issuer:jti-1', new Date(clock.now() + 300)), true, 'after its lifetime the claim is forgotten')
  })
}

t.test('a Redis replay guard that cannot reach Redis fails closed', async (t) => {
  const guard = new RedisReplayGuard({ url: 'redis://127.0.0.1:1', keyPrefix: uniqueRedisPrefix(), commandTimeoutMs: 200 }, new FixedClock(Date.now()))
  t.teardown(() => guard.close())
  await t.rejects(guard.claim('k', new Date(Date.now() + 60_000)), new ServiceUnavailableError('replay protection cannot be checked'))
})
