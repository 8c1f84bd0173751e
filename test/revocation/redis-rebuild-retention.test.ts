import { Redis } from 'ioredis'
import t from 'tap'
import { FixedClock } from '../../src/lib/clock.js'
import { createLogger } from '../../src/lib/logger.js'
import { rebuildRevocationSet } from '../../src/revocation/redis-revocation-rebuild.js'
import { SEQ_FIELD } from '../../src/revocation/redis-revocation-scripts.js'
import type { Revocation } from '../../src/revocation/revocation.js'
import { SqlRevocationLog } from '../../src/revocation/sql-revocation-log.js'
import { BACKENDS } from '../support/databases.js'
import { REDIS_URL, uniqueRedisPrefix } from '../support/servers.js'

const DAY = 86_400_000
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0)

/**
 * Redis restored from a snapshot older than what the durable log keeps: the changes after its marker
 * cannot be replayed (a lift among them may have been pruned), so the set is rebuilt whole.
 */
t.test('a Redis snapshot from before what retention kept is rebuilt whole, pruned lifts included', async (t) => {
  const db = await BACKENDS.postgres(t)
  const log = new SqlRevocationLog(db)
  const clock = new FixedClock(NOW)
  const client = new Redis(REDIS_URL)
  t.teardown(() => client.disconnect())
  const prefix = uniqueRedisPrefix()
  const keys = { set: `${prefix}{revocations}`, expiry: `${prefix}{revocations}:expiry`, lock: `${prefix}{revocations}:rebuild` }
  t.teardown(async () => {
    await client.del(keys.set, keys.expiry, keys.lock)
  })
  const rebuild = () => rebuildRevocationSet(client, keys, log, clock, createLogger('silent'))
  const revoke = (value: string): Promise<Revocation> =>
    log.transaction((tx) =>
      log.insert(tx, { kind: 'subject', value, reason: 'leak', createdAt: new Date(clock.now()), createdBy: 'alice', expiresAt: null }),
    )
  const held = async () =>
    Object.keys(await client.hgetall(keys.set))
      .filter((id) => !id.startsWith('~'))
      .sort()

  const standing = await revoke('spiffe://example.org/standing')
  const liftedLater = await revoke('spiffe://example.org/lifted-later')
  await rebuild()
  t.same(await held(), [standing.id, liftedLater.id].sort(), 'the snapshot: both in force')
  t.equal(await client.hget(keys.set, SEQ_FIELD), String(liftedLater.seq))

  // What the snapshot never saw: a lift, pruned a week later.
  await log.transaction((tx) => log.lift(tx, liftedLater.id, new Date(clock.now()), 'alice', 'clear'))
  clock.advance(8 * DAY)
  t.equal(await log.prune(new Date(clock.now() - 7 * DAY), 100), 1)
  const later = await revoke('spiffe://example.org/later')

  await rebuild()
  t.same(await held(), [standing.id, later.id].sort(), 'the pruned lift is applied: the lifted revocation no longer stands')
  t.equal(await client.hget(keys.set, SEQ_FIELD), String(later.seq), 'the marker vouches for the whole log')
})
