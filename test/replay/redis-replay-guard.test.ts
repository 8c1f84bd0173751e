import t, { type Test } from 'tap'
import { ServiceUnavailableError } from '../../src/errors.js'
import { FixedClock } from '../../src/lib/clock.js'
import { openRedis, waitForRedis, type RedisEndpoint } from '../../src/lib/redis-connection.js'
import { RedisReplayGuard } from '../../src/replay/redis-replay-guard.js'
import { SqlReplayGuard } from '../../src/replay/sql-replay-guard.js'
import { BACKENDS } from '../support/databases.js'
import { startOwnRedis } from '../support/redis-server.js'
import { REDIS_KINDS } from '../support/redis-kinds.js'
import { REDIS_URL, uniqueRedisPrefix } from '../support/servers.js'

/** Redis in front of the record of claims (Postgres): a shortcut for replays, never the only record. */

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0)
const until = new Date(NOW + 300_000)

async function openGuard(t: Test, endpoint: RedisEndpoint = { url: REDIS_URL }) {
  const db = await BACKENDS.postgres(t)
  const clock = new FixedClock(NOW)
  const keyPrefix = uniqueRedisPrefix()
  const guard = new RedisReplayGuard(
    { ...endpoint, keyPrefix, commandTimeoutMs: 1000 },
    new SqlReplayGuard(db, clock, { pruneIntervalMs: 0 }),
    clock,
  )
  t.teardown(() => guard.close())
  const redis = openRedis({ ...endpoint, commandTimeoutMs: 1000 })
  t.teardown(() => redis.disconnect())
  return { db, guard, redis, keyPrefix }
}

for (const [kind, endpoint] of Object.entries(REDIS_KINDS)) {
  t.test(`on ${kind}, a claim is recorded in the database and remembered in Redis`, async (t) => {
    const { db, guard, redis, keyPrefix } = await openGuard(t, await endpoint(t))
    await guard.ready()
    await waitForRedis(redis, 'the inspector', 'service_unavailable')
    t.equal(await guard.claim('https://issuer|jti:1', until), true, 'the first use is accepted')
    t.equal(await guard.claim('https://issuer|jti:1', until), false, 'a second use is a replay')
    t.same(await db.query('SELECT key, expires_at FROM attestation_claims'), [{ key: 'https://issuer|jti:1', expires_at: until }])
    t.equal(await redis.get(`${keyPrefix}replay:https://issuer|jti:1`), '1')
    const ttl = await redis.pttl(`${keyPrefix}replay:https://issuer|jti:1`)
    t.ok(ttl > 0 && ttl <= until.getTime() - NOW, `Redis forgets it when the attestation expires (pttl ${ttl})`)

    const results = await Promise.all(Array.from({ length: 5 }, () => guard.claim('race', until)))
    t.same(results.filter(Boolean), [true], 'of five at once, exactly one wins')
  })
}

t.test('a replay Redis remembers is refused without the database; anything else needs it', async (t) => {
  const { db, guard } = await openGuard(t)
  await guard.ready()
  t.equal(await guard.claim('seen', until), true)
  await db.exec('ALTER TABLE attestation_claims RENAME TO attestation_claims_away')
  t.equal(await guard.claim('seen', until), false, 'refused from Redis alone')
  await t.rejects(
    guard.claim('new', until),
    new ServiceUnavailableError('replay protection cannot be checked', 'replay_guard_unavailable'),
    'a first use is never let through unrecorded',
  )
})

t.test('a Redis that lost its data, or cannot be reached, costs only the shortcut', async (t) => {
  const own = await startOwnRedis(t)
  const { db, guard, redis, keyPrefix } = await openGuard(t, { url: own.url })
  await guard.ready()
  await waitForRedis(redis, 'the inspector', 'service_unavailable')
  t.equal(await guard.claim('k', until), true)
  await redis.flushall()
  t.equal(await guard.claim('k', until), false, 'the record refuses the replay Redis forgot')
  t.equal(await redis.get(`${keyPrefix}replay:k`), '1', 'and Redis remembers it again')

  await own.stop()
  t.equal(await guard.claim('k', until), false, 'Redis down: the record still refuses the replay')
  t.equal(await guard.claim('other', until), true, 'and accepts a first use')
  t.same(await db.query('SELECT key FROM attestation_claims ORDER BY key'), [{ key: 'k' }, { key: 'other' }])
  // Up again (empty, as after a crash), so the helper's teardown has a server to stop.
  await own.start()
})
