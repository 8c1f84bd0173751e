import type { Redis } from 'ioredis'
import t from 'tap'
import { ServiceUnavailableError } from '../../src/errors.js'
import { openRedis, openRedisSubscriber, waitForRedis } from '../../src/lib/redis-connection.js'
import { freePort } from '../support/ports.js'
import { REDIS_URL, uniqueRedisPrefix } from '../support/servers.js'

t.test('every connection fails closed the same way: no offline queue, no retry, a command timeout, a bounded backoff', async (t) => {
  const options = { url: REDIS_URL, commandTimeoutMs: 750 }
  const connections = {
    commands: openRedis(options) as Redis,
    pipelined: openRedis(options, { enableAutoPipelining: true }) as Redis,
    subscriber: openRedisSubscriber(options),
  }
  const roles = { commands: {}, pipelined: { enableAutoPipelining: true }, subscriber: { autoResubscribe: false } }
  for (const [name, redis] of Object.entries(connections)) {
    t.teardown(() => redis.disconnect())
    t.match(
      redis.options,
      { commandTimeout: 750, enableOfflineQueue: false, maxRetriesPerRequest: 0, keyPrefix: '', ...roles[name as keyof typeof roles] },
      name,
    )
    t.same(
      [1, 5, 10, 50].map((attempt) => redis.options.retryStrategy!(attempt)),
      [100, 500, 1000, 1000],
      `${name}: reconnects, at least once a second`,
    )
    const reconnect = redis.options.reconnectOnError!
    t.same(
      [
        reconnect(new Error("READONLY You can't write against a read only replica.")),
        reconnect(new Error('ERR wrong number of arguments')),
      ],
      [1, false],
      `${name}: a demoted primary's refusal drops the connection (to find the new one), without resending; other errors do not`,
    )
  }
})

t.test('a connected client answers, and keys are exactly what its user names them', async (t) => {
  const redis = openRedis({ url: REDIS_URL, commandTimeoutMs: 1000 })
  t.teardown(() => redis.disconnect())
  await waitForRedis(redis, 'the test store', 'service_unavailable')
  const key = `${uniqueRedisPrefix()}probe`
  t.teardown(() => redis.del(key).then(() => undefined))
  await redis.set(key, '1', 'PX', 10_000)
  t.equal(await redis.get(key), '1')
})

t.test(
  'while Redis cannot be reached, a command fails at once rather than wait for it, and start-up gives up naming the store',
  async (t) => {
    const redis = openRedis({ url: `redis://127.0.0.1:${await freePort()}`, commandTimeoutMs: 60_000 })
    t.teardown(() => redis.disconnect())
    const started = performance.now()
    await t.rejects(redis.get('anything'), /Stream isn't writeable|enableOfflineQueue/)
    t.ok(performance.now() - started < 1000, 'not queued until a reconnect or the command timeout')
    const refused = await waitForRedis(redis, 'the rate limit store', 'rate_limit_unavailable', 200).catch((error: unknown) => error)
    t.ok(refused instanceof ServiceUnavailableError, 'a 503 at start-up, not a crash of its own')
    t.equal((refused as ServiceUnavailableError).reason, 'rate_limit_unavailable')
    t.match((refused as Error).message, /^the rate limit store \(Redis\) is not reachable \(status (connecting|reconnecting)\)$/)
  },
)
