import t from 'tap'
import { createLogger } from '../../src/lib/logger.js'
import { RedisReloadFeed } from '../../src/reload/redis-reload-feed.js'
import { eventually } from '../support/eventually.js'
import { REDIS_KINDS } from '../support/redis-kinds.js'
import { uniqueRedisPrefix } from '../support/servers.js'

/** The reload feed on every way the service reaches Redis: one server, a Cluster, through Sentinel. */
for (const [kind, endpoint] of Object.entries(REDIS_KINDS)) {
  t.test(`a reload asked by A reaches B and C, not A itself (${kind})`, async (t) => {
    const redis = await endpoint(t)
    const prefix = uniqueRedisPrefix()
    const asked = { a: 0, b: 0, c: 0 }
    const feeds = await Promise.all(
      (['a', 'b', 'c'] as const).map(async (name) => {
        const feed = new RedisReloadFeed({ ...redis, keyPrefix: prefix, commandTimeoutMs: 1000 }, createLogger('silent'))
        t.teardown(() => feed.close())
        await feed.start(() => asked[name]++)
        return feed
      }),
    )
    t.equal(await feeds[0].publish(), 'asked')
    await eventually(t, () => asked.b + asked.c, { until: (n) => n === 2, what: 'B and C are asked' })
    t.equal(await feeds[2].publish(), 'asked')
    t.same(
      await eventually(t, () => ({ ...asked }), { until: (n) => n.a === 1 && n.b === 2 }),
      { a: 1, b: 2, c: 1 },
      'each once per request, never its own',
    )
  })
}
