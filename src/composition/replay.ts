import type { Logger } from 'pino'
import type { Config } from '../config.js'
import type { Database } from '../db/database.js'
import type { Clock } from '../lib/clock.js'
import type { Metrics } from '../metrics/metrics.js'
import { RedisReplayGuard } from '../replay/redis-replay-guard.js'
import type { ReplayGuard } from '../replay/replay-guard.js'
import { SqlReplayGuard } from '../replay/sql-replay-guard.js'
import { BatchingReplayGuard } from '../replay/batching-replay-guard.js'
import type { Tracing } from '../tracing/tracing.js'
import { redisConnection, tracedRedis } from './stores.js'

/**
 * Claims are rows in the database on every backend (PGlite too), so they outlive Redis; with Redis,
 * it answers repeated replays first.
 */
export async function openReplayGuard(
  config: Config,
  database: Database,
  clock: Clock,
  logger: Logger,
  metrics: Metrics,
  tracing: Tracing | undefined,
): Promise<ReplayGuard> {
  // Claims of one turn of the event loop in one statement: every DPoP proof is one.
  const record = new BatchingReplayGuard(
    new SqlReplayGuard(database, clock, {
      onPruneError: (error) => logger.warn({ err: error }, 'expired attestation claims could not be pruned; retrying later'),
    }),
  )
  const redis = tracedRedis(redisConnection(config, metrics), tracing)
  if (!redis) return record
  const guard = new RedisReplayGuard({ ...redis, keyPrefix: config.redis.keyPrefix }, record, clock)
  try {
    await guard.ready()
  } catch (error) {
    await guard.close()
    throw error
  }
  return guard
}
