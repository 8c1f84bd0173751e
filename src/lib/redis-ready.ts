import type { Redis } from 'ioredis'
import { ServiceUnavailableError } from '../errors.js'

/**
 * Resolves once `redis` is connected, so start-up waits for a store rather than failing its first
 * requests; throws ServiceUnavailableError naming `what` when it is not reachable within `timeoutMs`.
 */
export async function waitForRedis(redis: Redis, what: string, timeoutMs = 5000): Promise<void> {
  for (const started = Date.now(); redis.status !== 'ready'; ) {
    if (Date.now() - started > timeoutMs) throw new ServiceUnavailableError(`${what} (Redis) is not reachable (status ${redis.status})`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
