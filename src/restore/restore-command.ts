import type { Config } from '../config.js'
import { SqlAuditLog } from '../audit/sql-audit-log.js'
import type { Database } from '../db/database.js'
import { systemClock } from '../lib/clock.js'
import { openRedis, waitForRedis } from '../lib/redis-connection.js'
import { revocationKeys } from '../revocation/redis-revocation-keys.js'
import { SqlRevocationLog } from '../revocation/sql-revocation-log.js'
import { confirmRestore, type RestoreConfirmation } from './restore-confirm.js'
import { RedisRevocationHighWater } from './revocation-high-water.js'

/**
 * `npm run migrate -- --confirm-restore [--acknowledge-lost-revocations]`: after the migrations, the
 * confirm step (restore-confirm.ts) on the configured database and Redis; answers what to print.
 */
export async function runRestoreConfirm(config: Config, database: Database, acknowledgeLoss: boolean): Promise<string> {
  if (!config.redis.endpoint) {
    return 'no Redis is configured (REDIS_URL): no revocation state is kept outside the database, so there is nothing to compare or re-apply\n'
  }
  const redis = openRedis({ ...config.redis.endpoint, commandTimeoutMs: config.redis.commandTimeoutMs })
  try {
    await waitForRedis(redis, 'the revocation store', 'revocations_unavailable')
    const keys = revocationKeys(config.redis.keyPrefix)
    const result = await confirmRestore(
      {
        database,
        log: new SqlRevocationLog(database),
        audit: new SqlAuditLog(database),
        redis,
        keys,
        highWater: new RedisRevocationHighWater(redis, keys),
        clock: systemClock,
      },
      acknowledgeLoss,
    )
    return describe(result)
  } finally {
    redis.disconnect()
  }
}

function describe(result: RestoreConfirmation): string {
  if (result.outcome === 'not-behind') {
    return (
      `the database is not behind the revocation state seen in Redis (its log is at position ${result.databasePosition}` +
      `${result.seen ? `, Redis has seen ${result.seen.seq}` : ', Redis has seen none'}): nothing to confirm\n`
    )
  }
  const lines = [
    `the database's revocation log ended at position ${result.databasePosition}; Redis had seen position ${result.seen.seq}` +
      (result.seen.recordedAt ? ` (recorded ${result.seen.recordedAt.toISOString()})` : ''),
    `re-applied ${result.reapplied.length} revocation(s) made after the backup, with their ids:`,
    ...result.reapplied.map((r) => `  ${r.id}  ${r.kind} ${r.value}  (${r.createdAt.toISOString()} by ${r.createdBy})`),
  ]
  if (result.alreadyRevoked.length > 0) {
    lines.push(`${result.alreadyRevoked.length} more whose target the database already holds revoked:`)
    lines.push(...result.alreadyRevoked.map((r) => `  ${r.id}  ${r.kind} ${r.value}`))
  }
  if (result.acknowledgedLoss)
    lines.push('acknowledged: revocations Redis no longer held may be lost; re-apply them by hand (the audit log records this)')
  lines.push(
    `revocation positions go on after ${result.resumesAfter}: pollers and streams of before are told to resynchronise (410)`,
    'lifts made after the backup are not in the restored database: those revocations are in force again; lift them again if they must be',
    'recorded in the audit log (restore.confirm); the service starts again, and rebuilds the revocations in Redis from the database',
  )
  return `${lines.join('\n')}\n`
}
