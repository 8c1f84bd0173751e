import type { Logger } from 'pino'
import type { Config } from '../config.js'
import type { Clock } from '../lib/clock.js'
import type { Metrics } from '../metrics/metrics.js'
import { RedisRevocationBus } from '../revocation/redis-revocation-bus.js'
import { LocalRevocationBus, type RevocationBus } from '../revocation/revocation-bus.js'
import type { RevocationLog } from '../revocation/revocation-log.js'
import { redisConnection, redisKind } from './stores.js'

/** How revocations reach every instance: on Redis when it is configured, else this process alone. */
export function openRevocationBus(config: Config, logger: Logger, clock: Clock, log: RevocationLog, metrics: Metrics): RevocationBus {
  const redis = redisConnection(config, metrics)
  if (redis) {
    logger.info({ revocations: 'redis', redis: redisKind(redis) }, 'revocations on Redis, durable in the database')
    return new RedisRevocationBus(
      {
        ...redis,
        keyPrefix: config.redis.keyPrefix,
        heartbeatMs: config.redis.heartbeatMs,
        maxStalenessMs: config.redis.maxStalenessMs,
      },
      log,
      clock,
      logger,
    )
  }
  logger.warn(
    { revocations: 'local' },
    'revocations reach this process only: run a single instance, or configure Redis (REDIS_URL, redis.sentinels or redis.cluster) so every instance sees every revocation',
  )
  return new LocalRevocationBus(log, clock)
}
