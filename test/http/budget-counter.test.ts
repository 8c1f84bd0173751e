import t from 'tap'
import { RedisBudgetCounter } from '../../src/http/budget-counter.js'
import { openRedis, waitForRedis } from '../../src/lib/redis-connection.js'
import { REDIS_KINDS } from '../support/redis-kinds.js'
import { uniqueRedisPrefix } from '../support/servers.js'

/** The request budgets every instance spends together, on each kind of Redis connection. */
for (const kind of ['redis', 'redis cluster'] as const) {
  t.test(`on ${kind}, a budget counts every hit in its window, and peeking spends nothing`, async (t) => {
    const redis = openRedis({ ...(await REDIS_KINDS[kind](t)), commandTimeoutMs: 1000 })
    t.teardown(() => redis.disconnect())
    await waitForRedis(redis, 'the rate limit store', 'rate_limit_unavailable')
    const counter = new RedisBudgetCounter(redis, `${uniqueRedisPrefix()}rate-limit:`)
    const counts = []
    for (let i = 0; i < 3; i++) counts.push((await counter.hit('admin:10.0.0.1', 60_000)).count)
    t.same(counts, [1, 2, 3])
    const peeked = await counter.peek('admin:10.0.0.1')
    t.equal(peeked.count, 3, 'a peek sees the count')
    t.ok(peeked.resetMs > 55_000 && peeked.resetMs <= 60_000, `and when the window ends (${peeked.resetMs} ms)`)
    t.equal((await counter.peek('admin:10.0.0.1')).count, 3, 'and spends nothing')
    t.same(await counter.peek('admin:10.0.0.2'), { count: 0, resetMs: 0 }, 'another address has spent nothing')
    // Keys of many addresses land on every node of a Cluster: each is one key, one slot.
    const many = await Promise.all(Array.from({ length: 20 }, (_, i) => counter.hit(`admin:10.0.1.${i}`, 60_000)))
    t.same(
      many.map((count) => count.count),
      Array.from({ length: 20 }, () => 1),
    )
  })
}
