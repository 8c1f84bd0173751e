import type { Logger } from 'pino'
import type { Config } from '../config.js'
import { GrantCatalog } from '../grants/grant-catalog.js'
import { LocalGrantFeed } from '../grants/grant-feed.js'
import type { GrantStore } from '../grants/grant-store.js'
import { RedisGrantFeed } from '../grants/redis-grant-feed.js'
import type { Clock } from '../lib/clock.js'
import type { Metrics } from '../metrics/metrics.js'
import { redisConnection } from './stores.js'

/** Grants loaded once, then kept current by their change feed: Redis with REDIS_URL, else this process alone. */
export function openGrantCatalog(config: Config, logger: Logger, clock: Clock, grants: GrantStore, metrics: Metrics): GrantCatalog {
  if (config.grants.cacheTtlMs !== undefined)
    logger.warn('grants.cacheTtlMs is ignored: grant changes are pushed; see grants.catchUpIntervalMs and grants.maxStalenessMs')
  const redis = redisConnection(config, metrics)
  const feed = redis ? new RedisGrantFeed({ ...redis, keyPrefix: config.redis.keyPrefix }, logger) : new LocalGrantFeed()
  return new GrantCatalog(grants, feed, clock, {
    catchUpIntervalMs: config.grants.catchUpIntervalMs,
    maxStalenessMs: config.grants.maxStalenessMs,
    logger,
  })
}
