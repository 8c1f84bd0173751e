import type { Logger } from 'pino'
import type { AuditLog } from '../audit/audit-log.js'
import { reloadConfig, type Config, type ConfigSource } from '../config.js'
import type { Database } from '../db/database.js'
import type { Clock } from '../lib/clock.js'
import type { SettingsHolder } from '../lib/settings-holder.js'
import type { Metrics } from '../metrics/metrics.js'
import { ConfigReloader } from '../reload/config-reloader.js'
import { LocalReloadFeed } from '../reload/reload-feed.js'
import { RedisReloadFeed } from '../reload/redis-reload-feed.js'
import { ReloadService } from '../reload/reload-service.js'
import { runtimeSettingsOf, type AttestorOutside, type RuntimeSettings } from '../reload/runtime-settings.js'
import { redisConnection } from './stores.js'

/** What the reloads are built from: the parts of the composition they read or replace. */
export interface ReloadParts {
  metrics: Metrics
  runtime: SettingsHolder<RuntimeSettings>
  attestorOutside: AttestorOutside
  audit: AuditLog
  database: Database
  clock: Clock
  source: ConfigSource | undefined
}

/**
 * Reloads (src/reload/): the configuration read again from where it was loaded, and what may change put
 * in force by replacing the runtime settings whole and setting the logger's level. Other instances are
 * asked through Redis with REDIS_URL; without it there is no other.
 */
export function openReloads(config: Config, logger: Logger, parts: ReloadParts): ReloadService {
  const { runtime, attestorOutside, source } = parts
  const reloader = new ConfigReloader({
    running: config,
    read: () => (source ? reloadConfig(source) : { problems: ['this instance was not started from a configuration to read again'] }),
    build: (next, changes) => {
      const previous = runtime.current()
      const settings = runtimeSettingsOf(next, attestorOutside, { settings: previous, changes })
      return () => {
        runtime.replace(settings)
        logger.level = next.logLevel
        if (settings.attestors === previous.attestors) return
        if (next.attestors.length === 0) logger.warn('no attestors are configured: every token exchange will be refused')
        for (const warning of settings.attestors.startupWarnings()) logger.warn(warning)
      }
    },
    logger,
  })
  const redis = redisConnection(config, parts.metrics)
  const feed = redis ? new RedisReloadFeed({ ...redis, keyPrefix: config.redis.keyPrefix }, logger) : new LocalReloadFeed()
  return new ReloadService({
    reloader,
    feed,
    audit: parts.audit,
    database: parts.database,
    clock: parts.clock,
    logger,
    target: source?.file ?? 'environment',
  })
}
