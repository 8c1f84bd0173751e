import { Redis, type RedisOptions } from 'ioredis'
import { ServiceUnavailableError, type ErrorReason } from '../errors.js'
import type { RedisConnectionWatch } from '../observability/observers.js'

/** Where Redis is (REDIS_URL) and how long a command may take: config.redis. */
export interface RedisConnectionOptions {
  url: string
  commandTimeoutMs: number
  /** Told of every connection opened, with its purpose: the metrics report whether each is up. */
  watch?: RedisConnectionWatch
}

/** What one kind of connection adds to the shared behaviour: a subscriber's resubscription, pipelining. */
export type RedisConnectionRole = Pick<RedisOptions, 'autoResubscribe' | 'enableAutoPipelining'> & {
  /** What the connection is for (`revocations`, `replay`...): how the metrics name it. */
  purpose?: string
}

/**
 * Every Redis connection the service opens (revocations, replay protection, rate limits) behaves the
 * same way in an outage: a command fails within `commandTimeoutMs`, or at once while disconnected (no
 * offline queue, no retry), so a store that cannot answer fails closed instead of queueing requests;
 * the connection meanwhile reconnects by itself, backing off to one attempt a second. Keys are
 * prefixed by their users with `redis.keyPrefix`, never by ioredis, so keys, scripts and channels
 * all name the same things.
 */
export function openRedis(options: RedisConnectionOptions, role: RedisConnectionRole = {}): Redis {
  const { purpose = 'other', ...behaviour } = role
  const redis = new Redis(options.url, {
    commandTimeout: options.commandTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    ...behaviour,
  })
  // Failures surface on the commands (and, for revocations, as missed heartbeats); the connection's
  // own error events would only be noise.
  redis.on('error', () => {})
  options.watch?.opened(purpose, redis)
  return redis
}

/**
 * Resolves once `redis` is connected, so start-up waits for a store rather than failing its first
 * requests; throws ServiceUnavailableError naming `what` when it is not reachable within `timeoutMs`.
 */
export async function waitForRedis(redis: Redis, what: string, reason: ErrorReason, timeoutMs = 5000): Promise<void> {
  for (const started = Date.now(); redis.status !== 'ready';) {
    if (Date.now() - started > timeoutMs)
      throw new ServiceUnavailableError(`${what} (Redis) is not reachable (status ${redis.status})`, reason)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
