import type { Clock } from '../lib/clock.js'
import { openRedis, waitForRedis, type RedisClient, type RedisConnectionOptions } from '../lib/redis-connection.js'
import type { ReplayGuard } from './replay-guard.js'

export type RedisReplayGuardOptions = RedisConnectionOptions & { keyPrefix: string }

/**
 * Redis in front of the record of claims: a claim Redis remembers is refused at once, without a
 * database round trip (a replay storm stays off Postgres); anything else is decided by the record,
 * and then remembered in Redis with the claim's own expiry. Redis losing its data, or being
 * unreachable, costs only the shortcut: the record still refuses every replay.
 */
export class RedisReplayGuard implements ReplayGuard {
  private readonly redis: RedisClient

  constructor(
    private readonly options: RedisReplayGuardOptions,
    private readonly record: ReplayGuard,
    private readonly clock: Clock,
  ) {
    this.redis = openRedis(options, { enableAutoPipelining: true, purpose: 'replay' })
  }

  /** Resolves once connected; start-up waits for it rather than failing its first exchanges. */
  ready(timeoutMs = 5000): Promise<void> {
    return waitForRedis(this.redis, 'replay protection', 'replay_guard_unavailable', timeoutMs)
  }

  async claim(key: string, until: Date): Promise<boolean> {
    const ttl = until.getTime() - this.clock.now()
    // Already past its lifetime: the attestation itself is refused elsewhere; nothing to remember.
    if (ttl <= 0) return true
    const redisKey = `${this.options.keyPrefix}replay:${key}`
    if (await this.remembers(redisKey)) return false
    const first = await this.record.claim(key, until)
    // Claimed now either way (by this request or an earlier one): the next replay stops at Redis. Not
    // waited for: a replay that comes before it lands is refused by the record all the same.
    void this.redis.set(redisKey, '1', 'PX', ttl).catch(() => {})
    return first
  }

  /** A shortcut only: without an answer from Redis, the record decides. */
  private async remembers(redisKey: string): Promise<boolean> {
    try {
      return (await this.redis.exists(redisKey)) === 1
    } catch {
      return false
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect()
    await this.record.close()
  }
}
