import { Redis } from 'ioredis'
import type { Clock } from '../lib/clock.js'
import { waitForRedis } from '../lib/redis-ready.js'

/**
 * Single use of attestations: an attestation that says it is single-use (a JWT with a `jti`, an
 * attested document with a nonce) is accepted once within its lifetime, on any instance. The record
 * is SqlReplayGuard (src/replay/sql-replay-guard.ts); Redis may only sit in front of it.
 */
export interface ReplayGuard {
  /**
   * True the first time `key` is claimed before `until`, false ever after (until then). Throws
   * ServiceUnavailableError when it cannot tell: a replay is never let through for want of an answer.
   */
  claim(key: string, until: Date): Promise<boolean>
  close(): Promise<void>
}

export interface RedisReplayGuardOptions {
  url: string
  keyPrefix: string
  commandTimeoutMs: number
}

/**
 * Redis in front of the record of claims: a claim Redis remembers is refused at once, without a
 * database round trip (a replay storm stays off Postgres); anything else is decided by the record,
 * and then remembered in Redis with the claim's own expiry. Redis losing its data, or being
 * unreachable, costs only the shortcut: the record still refuses every replay.
 */
export class RedisReplayGuard implements ReplayGuard {
  private readonly redis: Redis

  constructor(
    private readonly options: RedisReplayGuardOptions,
    private readonly record: ReplayGuard,
    private readonly clock: Clock,
  ) {
    this.redis = new Redis(options.url, {
      commandTimeout: options.commandTimeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      enableAutoPipelining: true,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    })
    this.redis.on('error', () => {})
  }

  /** Resolves once connected; start-up waits for it rather than failing its first exchanges. */
  ready(timeoutMs = 5000): Promise<void> {
    return waitForRedis(this.redis, 'replay protection', timeoutMs)
  }

  async claim(key: string, until: Date): Promise<boolean> {
    const ttl = until.getTime() - this.clock.now()
    // Already past its lifetime: the attestation itself is refused elsewhere; nothing to remember.
    if (ttl <= 0) return true
    const redisKey = `${this.options.keyPrefix}replay:${key}`
    if (await this.remembers(redisKey)) return false
    const first = await this.record.claim(key, until)
    // Claimed now either way (by this request or an earlier one): the next replay stops at Redis.
    await this.redis.set(redisKey, '1', 'PX', ttl).catch(() => {})
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
