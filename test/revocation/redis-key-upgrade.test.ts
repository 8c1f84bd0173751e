import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { SqlAuditLog } from '../../src/audit/sql-audit-log.js'
import type { Database } from '../../src/db/database.js'
import { FixedClock } from '../../src/lib/clock.js'
import { createLogger } from '../../src/lib/logger.js'
import { RedisRevocationBus } from '../../src/revocation/redis-revocation-bus.js'
import { LocalRevocationBus } from '../../src/revocation/revocation-bus.js'
import { RevocationCache } from '../../src/revocation/revocation-cache.js'
import { RevocationService } from '../../src/revocation/revocation-service.js'
import { revocationToJson } from '../../src/revocation/revocation.js'
import { SqlLiveTokenCounter } from '../../src/revocation/sql-live-token-counter.js'
import { SqlRevocationLog } from '../../src/revocation/sql-revocation-log.js'
import { BACKENDS } from '../support/databases.js'
import { eventually } from '../support/eventually.js'
import { REDIS_URL, uniqueRedisPrefix } from '../support/servers.js'

/**
 * Upgrading from the release whose revocation keys had no hash tag (`<prefix>revocations`, ...): the
 * new release finds nothing under `<prefix>{revocations}`, rebuilds it from Postgres, and loses no
 * revocation; while both releases run, a revocation made through an old replica (which writes only the
 * old names) reaches the new ones through the durable log at their next heartbeat.
 */

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0)
const ACTOR = { name: 'responder', requestId: null }
const subject = (namespace: string) => ({ kind: 'subject', value: `spiffe://example.org/k8s/prod/ns/${namespace}/**` }) as const

/** What a replica of the previous release does on revoking: the durable log, then the old keys and channel. */
function oldReplica(db: Database, clock: FixedClock, redis: Redis, prefix: string) {
  const service = new RevocationService(
    new SqlRevocationLog(db),
    new LocalRevocationBus(new SqlRevocationLog(db), clock),
    new SqlAuditLog(db),
    new SqlLiveTokenCounter(db, 3600, 5000),
    clock,
  )
  return async (namespace: string) => {
    const { revocation } = await service.revoke({ ...subject(namespace), reason: 'before the upgrade' }, ACTOR)
    const json = JSON.stringify(revocationToJson(revocation))
    await redis.hset(`${prefix}revocations`, revocation.id, json, '~seq', String(revocation.seq))
    await redis.publish(`${prefix}revocations:changes`, `{"v":"1","r":${json}}`)
    return revocation
  }
}

async function newInstance(t: Test, db: Database, clock: FixedClock, prefix: string) {
  const bus = new RedisRevocationBus(
    { url: REDIS_URL, keyPrefix: prefix, commandTimeoutMs: 1000, heartbeatMs: 100, maxStalenessMs: 5000 },
    new SqlRevocationLog(db),
    clock,
    createLogger('silent'),
  )
  t.teardown(() => bus.close())
  const cache = new RevocationCache(clock, bus.maxStalenessMs)
  await bus.start(cache)
  return cache
}

t.test('an upgrade from the untagged revocation keys loses no revocation, and mixed releases still hear each other', async (t) => {
  const db = await BACKENDS.postgres(t)
  const clock = new FixedClock(T0)
  const prefix = uniqueRedisPrefix()
  const redis = new Redis(REDIS_URL)
  t.teardown(() => redis.disconnect())
  const old = oldReplica(db, clock, redis, prefix)
  const before = [await old('payments'), await old('billing')]
  t.same(await redis.exists(`${prefix}{revocations}`), 0, 'nothing under the new names yet')

  const upgraded = await newInstance(t, db, clock, prefix)
  t.same(
    [(await upgraded.findRevoked([subject('payments')]))?.id, (await upgraded.findRevoked([subject('billing')]))?.id],
    before.map((revocation) => revocation.id),
    'the upgraded instance enforces every revocation made before, from its first moment',
  )
  const rebuilt = await redis.hgetall(`${prefix}{revocations}`)
  t.same(
    Object.keys(rebuilt)
      .filter((field) => !field.startsWith('~'))
      .sort(),
    before.map((revocation) => revocation.id).sort(),
    'rebuilt under the new names from Postgres',
  )
  t.equal(rebuilt['~seq'], String(before[1].seq), 'vouching for the durable log')

  // A replica of the previous release, still running during the rollout, revokes.
  const during = await old('shipping')
  let failedClosed = 0
  const heard = await eventually(
    t,
    async () => {
      try {
        return (await upgraded.findRevoked([subject('shipping')]))?.id
      } catch {
        // Found behind the durable log: refusing everything until rebuilt, as it should.
        failedClosed++
        return undefined
      }
    },
    { timeoutMs: 2000, what: 'the upgraded instance enforces a revocation made by an old replica' },
  )
  t.comment(`the upgraded instance failed closed for ${failedClosed} checks while it caught up`)
  t.equal(heard, during.id, 'within a few heartbeats, through the durable log')
})
