import type { Logger } from 'pino'
import type { Config } from '../config.js'
import type { Database } from '../db/database.js'
import { createPGliteDatabase } from '../db/pglite.js'
import { createPostgresDatabase } from '../db/postgres.js'
import { postgresTlsOptions } from '../db/postgres-tls.js'
import { openRedis, waitForRedis, type RedisClient, type RedisConnectionOptions } from '../lib/redis-connection.js'
import { ensureWritableDirectory } from '../lib/writable-directory.js'
import type { Metrics } from '../metrics/metrics.js'
import type { Tracing } from '../tracing/tracing.js'

/** The stores every part shares: the database (Postgres or the embedded PGlite) and where Redis is. */

/** Postgres with DATABASE_URL, else the embedded PGlite in its data directory (or in memory). */
export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  if (config.database.url) {
    logger.info({ ledger: 'postgres', tls: config.database.ssl?.mode ?? 'as the URL says' }, 'ledger and grants on Postgres (DATABASE_URL)')
    return createPostgresDatabase({
      url: config.database.url,
      poolSize: config.database.poolSize,
      statementTimeoutMs: config.database.statementTimeoutMs,
      ...(config.database.ssl ? { ssl: postgresTlsOptions(config.database.ssl) } : {}),
      onIdleError: (error) =>
        logger.warn({ err: { message: error.message } }, 'an idle database connection was lost; the pool replaces it'),
    })
  }
  logger.info(
    { ledger: 'pglite', dataDir: config.database.dataDir },
    'ledger and grants on embedded PGlite: single instance only; set DATABASE_URL for Postgres',
  )
  if (config.database.dataDir === 'memory://') return createPGliteDatabase(undefined)
  ensureWritableDirectory(config.database.dataDir, {
    key: 'database.dataDir',
    instead: 'or set DATABASE_URL to keep the ledger in Postgres',
  })
  return createPGliteDatabase(config.database.dataDir)
}

/** A connection of its own for the rate limits: a slow or failed count never queues behind revocations. */
export async function openRateLimitRedis(config: Config, metrics: Metrics, tracing: Tracing | undefined): Promise<RedisClient | undefined> {
  const connection = tracedRedis(redisConnection(config, metrics), tracing)
  if (!connection) return undefined
  const redis = openRedis(connection, { purpose: 'rate_limits' })
  // Start-up waits for it, as for replay protection, rather than refusing the first admin requests.
  try {
    await waitForRedis(redis, 'the rate limit store', 'rate_limit_unavailable')
  } catch (error) {
    redis.disconnect()
    throw error
  }
  return redis
}

/**
 * Where Redis is (one server, Sentinel or Cluster) and the command timeout; undefined without Redis.
 * Every connection opened to it is watched by the metrics.
 */
export function redisConnection(config: Config, metrics: Metrics): RedisConnectionOptions | undefined {
  const { endpoint, commandTimeoutMs } = config.redis
  return endpoint ? { ...endpoint, commandTimeoutMs, watch: metrics.redis } : undefined
}

/**
 * The connections the exchange uses (the budget per identity, the single-use claims) trace their
 * commands; the feeds' do not, as nothing they send belongs to an exchange.
 */
export function tracedRedis(
  connection: RedisConnectionOptions | undefined,
  tracing: Tracing | undefined,
): RedisConnectionOptions | undefined {
  return connection && tracing ? { ...connection, commands: tracing.redis } : connection
}

/** Which kind of Redis deployment a connection goes to, for the start-up log line. */
export function redisKind(connection: RedisConnectionOptions): 'url' | 'sentinel' | 'cluster' {
  return 'cluster' in connection ? 'cluster' : 'sentinels' in connection ? 'sentinel' : 'url'
}
