import t, { type Test } from 'tap'
import { createLogger } from '../../src/lib/logger.js'
import { RedisChangeFeed, type RedisChangeFeedOptions } from '../../src/lib/redis-change-feed.js'
import { eventually } from '../support/eventually.js'
import { REDIS_URL, uniqueRedisPrefix } from '../support/servers.js'
import { startTcpProxy } from '../support/tcp-proxy.js'

/**
 * The one Redis change feed under the grant, key and reload feeds, on a real Redis: what each listener
 * hears, in order, for a plain feed and a numbered one, and what a reconnection makes up for.
 */

type Heard = (string | undefined)[]

async function feed(
  t: Test,
  options: Omit<RedisChangeFeedOptions, 'connection'>,
  url = REDIS_URL,
): Promise<{ feed: RedisChangeFeed; heard: Heard }> {
  const made = new RedisChangeFeed({ connection: { url, commandTimeoutMs: 1000 }, ...options }, createLogger('silent'))
  t.teardown(() => made.close())
  const heard: Heard = []
  await made.start((message) => heard.push(message))
  return { feed: made, heard }
}

const plain = (prefix: string) => ({
  channel: `${prefix}things:changes`,
  purposes: { publisher: 'things', subscriber: 'thing_feed' },
  describes: 'thing feed',
  unavailable: 'service_unavailable' as const,
})

t.test('a plain feed: every subscriber hears every message as it is, its own too, after a catch-up at subscription', async (t) => {
  const prefix = uniqueRedisPrefix()
  const a = await feed(t, plain(prefix))
  const b = await feed(t, plain(prefix))
  await a.feed.publish('17')
  await b.feed.publish('changed')
  const expected = [undefined, '17', 'changed']
  t.same(await eventually(t, () => [...a.heard], { until: (h) => h.length === 3 }), expected, 'A')
  t.same(await eventually(t, () => [...b.heard], { until: (h) => h.length === 3 }), expected, 'B')
})

t.test('a numbered feed: each publication heard once by every other instance, never its own with ignoreOwn', async (t) => {
  const prefix = uniqueRedisPrefix()
  const numbered = { ...plain(prefix), counter: `${prefix}things:count`, ignoreOwn: true }
  const a = await feed(t, numbered)
  const b = await feed(t, numbered)
  const c = await feed(t, { ...numbered, ignoreOwn: false })
  await a.feed.publish()
  await c.feed.publish()
  t.same(await eventually(t, () => [...b.heard], { until: (h) => h.length === 2 }), [undefined, undefined], 'B hears both')
  t.same(await eventually(t, () => [...c.heard], { until: (h) => h.length === 2 }), [undefined, undefined], 'C hears both, its own too')
  await eventually(t, () => a.heard.length, { until: (n) => n === 1 })
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.same(a.heard, [undefined], 'A only the publication that was not its own')
  t.same(b.heard, [undefined, undefined], 'nothing twice')
})

t.test('a numbered feed cut off while publications were made hears once that it missed them when it is back', async (t) => {
  const prefix = uniqueRedisPrefix()
  const numbered = { ...plain(prefix), counter: `${prefix}things:count`, ignoreOwn: true }
  const redis = new URL(REDIS_URL)
  const proxy = await startTcpProxy(redis.hostname, Number(redis.port || 6379))
  t.teardown(() => proxy.close())
  const a = await feed(t, numbered)
  const b = await feed(t, numbered, proxy.url('redis'))
  t.same(b.heard, [], 'nothing at the first subscription: the listener has just read the state')
  proxy.cut()
  await a.feed.publish()
  await a.feed.publish()
  proxy.restore()
  t.same(await eventually(t, () => [...b.heard], { until: (h) => h.length >= 1 }), [undefined], 'heard once for both')
  await a.feed.publish()
  t.same(await eventually(t, () => [...b.heard], { until: (h) => h.length >= 2 }), [undefined, undefined], 'and each one after')
})

t.test('a feed whose Redis does not answer fails its start, naming itself, with its reason', async (t) => {
  const prefix = uniqueRedisPrefix()
  const redis = new URL(REDIS_URL)
  const proxy = await startTcpProxy(redis.hostname, Number(redis.port || 6379))
  t.teardown(() => proxy.close())
  proxy.cut()
  const made = new RedisChangeFeed(
    { connection: { url: proxy.url('redis'), commandTimeoutMs: 200 }, ...plain(prefix), startTimeoutMs: 300 },
    createLogger('silent'),
  )
  t.teardown(() => made.close())
  await t.rejects(
    made.start(() => {}),
    { name: 'ServiceUnavailableError', reason: 'service_unavailable', message: /^the thing feed \(Redis\) is not reachable/ },
  )
})
