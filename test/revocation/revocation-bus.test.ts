import t from 'tap'
import type { Test } from 'tap'
import { SqlAuditLog } from '../../src/audit/sql-audit-log.js'
import type { Database } from '../../src/db/database.js'
import { SqlLiveTokenCounter } from '../../src/revocation/sql-live-token-counter.js'
import { FixedClock } from '../../src/lib/clock.js'
import type { Redis } from 'ioredis'
import { openRedis, waitForRedis, type RedisClient, type RedisEndpoint } from '../../src/lib/redis-connection.js'
import { createLogger } from '../../src/lib/logger.js'
import { RedisRevocationBus } from '../../src/revocation/redis-revocation-bus.js'
import { LocalRevocationBus, type RevocationBus } from '../../src/revocation/revocation-bus.js'
import { RevocationCache } from '../../src/revocation/revocation-cache.js'
import { SqlRevocationLog } from '../../src/revocation/sql-revocation-log.js'
import { RevocationService } from '../../src/revocation/revocation-service.js'
import { BACKENDS } from '../support/databases.js'
import { eventually } from '../support/eventually.js'
import { REDIS_KINDS } from '../support/redis-kinds.js'
import { uniqueRedisPrefix } from '../support/servers.js'

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0)
const ACTOR = { name: 'responder', requestId: null }
const api = { kind: 'subject', value: 'spiffe://example.org/k8s/prod/ns/payments/sa/api' } as const

interface Instance {
  cache: RevocationCache
  service: RevocationService
}

type Open = (t: Test, db: Database, clock: FixedClock, prefix: string) => RevocationBus
type Connect = (t: Test) => Promise<Open>

function onRedis(endpoint: RedisEndpoint, heartbeatMs: number): Open {
  return (_t, db, clock, prefix) =>
    new RedisRevocationBus(
      { ...endpoint, keyPrefix: prefix, commandTimeoutMs: 1000, heartbeatMs, maxStalenessMs: 5000 },
      new SqlRevocationLog(db),
      clock,
      createLogger('silent'),
    )
}

/** The contract holds on every kind of Redis connection (one server, Cluster, Sentinel) and on the local bus. */
const BUSES: Record<string, { database: keyof typeof BACKENDS; connect: Connect }> = {
  ...Object.fromEntries(
    Object.entries(REDIS_KINDS).map(([kind, endpoint]) => [
      kind,
      { database: 'postgres' as const, connect: async (t: Test) => onRedis(await endpoint(t), 100) },
    ]),
  ),
  local: { database: 'pglite', connect: async () => (_t, db, clock) => new LocalRevocationBus(new SqlRevocationLog(db), clock) },
}

async function instance(t: Test, open: Open, db: Database, clock: FixedClock, prefix: string): Promise<Instance> {
  const bus = open(t, db, clock, prefix)
  t.teardown(() => bus.close())
  const cache = new RevocationCache(clock, bus.maxStalenessMs)
  await bus.start(cache)
  return {
    cache,
    service: new RevocationService(new SqlRevocationLog(db), bus, new SqlAuditLog(db), new SqlLiveTokenCounter(db, 3600, 5000), clock),
  }
}

for (const [name, { database, connect }] of Object.entries(BUSES)) {
  t.test(`revocation bus contract on ${name}`, async (t) => {
    const open = await connect(t)
    const db = await BACKENDS[database](t)
    const clock = new FixedClock(T0)
    const prefix = uniqueRedisPrefix()
    const a = await instance(t, open, db, clock, prefix)

    t.equal(await a.cache.findRevoked([api]), undefined, 'nothing revoked at first')
    const { revocation } = await a.service.revoke({ ...api, reason: 'leaked' }, ACTOR)
    t.ok(
      await eventually(t, async () => (await a.cache.findRevoked([api]))?.id === revocation.id),
      'a revocation is in force on the instance that made it',
    )

    const timed = await a.service.revoke(
      { kind: 'source', value: 'k8s:prod', reason: 'for a minute', expiresAt: new Date(T0 + 60_000).toISOString() },
      ACTOR,
    )
    t.ok(await eventually(t, async () => (await a.cache.findRevoked([{ kind: 'source', value: 'k8s:prod' }])) !== undefined))

    // A later instance (or a restart) loads the set in force from the bus's shared state.
    const b = await instance(t, open, db, clock, prefix)
    t.equal((await b.cache.findRevoked([api]))?.id, revocation.id, 'a new instance starts with the revocations in force')
    clock.advance(60_000)
    t.equal(await b.cache.findRevoked([{ kind: 'source', value: 'k8s:prod' }]), undefined, 'an expired revocation no longer applies')
    t.equal(timed.revocation.expiresAt?.getTime(), T0 + 60_000)

    await a.service.lift(revocation.id, 'rotated', ACTOR)
    t.ok(await eventually(t, async () => (await a.cache.findRevoked([api])) === undefined), 'a lift applies where it was made')
    const c = await instance(t, open, db, clock, prefix)
    t.equal(await c.cache.findRevoked([api]), undefined, 'and a lifted revocation is not loaded again')
  })
}

for (const kind of ['redis', 'redis cluster'] as const) {
  t.test(`on ${kind}, an expired revocation leaves the shared set and every instance when it expires`, async (t) => {
    const endpoint = await REDIS_KINDS[kind](t)
    const db = await BACKENDS.postgres(t)
    const clock = new FixedClock(T0)
    const prefix = uniqueRedisPrefix()
    const open = onRedis(endpoint, 50)
    const a = await instance(t, open, db, clock, prefix)
    const b = await instance(t, open, db, clock, prefix)
    const inspector = openRedis({ ...endpoint, commandTimeoutMs: 1000 })
    t.teardown(() => inspector.disconnect())
    await waitForRedis(inspector, 'the inspector', 'service_unavailable')
    const timed = await a.service.revoke(
      {
        kind: 'token',
        value: '2f0c6d1e-0000-4000-8000-000000000001',
        reason: 'pasted in a ticket',
        expiresAt: new Date(T0 + 60_000).toISOString(),
      },
      ACTOR,
    )
    const kept = await a.service.revoke({ ...api, reason: 'leaked' }, ACTOR)
    const held = async () =>
      Object.keys(await inspector.hgetall(`${prefix}{revocations}`))
        .filter((f) => !f.startsWith('~'))
        .sort()
    t.same(await held(), [timed.revocation.id, kept.revocation.id].sort())
    t.same(
      [a.cache.size(), b.cache.size()],
      [
        { revocations: 2, tombstones: 0 },
        { revocations: 2, tombstones: 0 },
      ],
    )
    clock.advance(60_000)
    t.ok(
      await eventually(t, async () => (await held()).length === 1 && a.cache.size().revocations === 1 && b.cache.size().revocations === 1),
      'gone from Redis and from both instances',
    )
    t.same(await held(), [kept.revocation.id])
    t.same(await inspector.zrange(`${prefix}{revocations}:expiry`, 0, -1), [], 'and from the expiry index')
  })
}

t.test('closing the bus is quiet: it fails closed at once but is not logged as a dropped subscription', async (t) => {
  const endpoint = await REDIS_KINDS.redis(t)
  const db = await BACKENDS.postgres(t)
  const clock = new FixedClock(T0)
  const warnings: string[] = []
  const logger = createLogger('warn', { write: (line: string) => warnings.push((JSON.parse(line) as { msg: string }).msg) })
  const options = { ...endpoint, keyPrefix: uniqueRedisPrefix(), commandTimeoutMs: 1000, heartbeatMs: 100, maxStalenessMs: 5000 }
  const bus = new RedisRevocationBus(options, new SqlRevocationLog(db), clock, logger)
  const cache = new RevocationCache(clock, bus.maxStalenessMs)
  await bus.start(cache)
  t.equal(await cache.findRevoked([api]), undefined, 'in touch before closing')
  warnings.length = 0

  await bus.close()
  await new Promise((resolve) => setTimeout(resolve, 200))
  await t.rejects(cache.findRevoked([api]), { code: 'unavailable', reason: 'revocations_unavailable' }, 'no answer once closed')
  t.same(warnings, [], 'no warning')

  // The same drop from outside is an outage, and says so.
  let feed: Redis | undefined
  const watch = {
    opened: (purpose: string, connection: RedisClient) => void (purpose === 'revocation_feed' && (feed = connection as Redis)),
  }
  const dropped = new RedisRevocationBus({ ...options, watch }, new SqlRevocationLog(db), clock, logger)
  t.teardown(() => dropped.close())
  await dropped.start(new RevocationCache(clock, dropped.maxStalenessMs))
  feed?.stream.destroy()
  t.ok(
    await eventually(t, async () => warnings.includes('the subscription to the revocation store (Redis) dropped; reloading')),
    'a dropped connection is logged',
  )
})
