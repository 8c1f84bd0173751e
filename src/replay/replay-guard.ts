import { Redis } from 'ioredis'
import { ServiceUnavailableError } from '../errors.js'
import type { Clock } from '../lib/clock.js'

/**
 * Single use of attestations: an attestation that says it is single-use (a JWT with a `jti`, an
 * attested document with a nonce) is accepted once within its lifetime, on any instance.
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

/** Claims in Redis (`SET NX` with the claim's own expiry), shared by every instance. */
export class RedisReplayGuard implements ReplayGuard {
  private readonly redis: Redis

  constructor(
    private readonly options: RedisReplayGuardOptions,
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
  async ready(timeoutMs = 5000): Promise<void> {
    for (const started = Date.now(); this.redis.status !== 'ready'; ) {
      if (Date.now() - started > timeoutMs) throw new ServiceUnavailableError(`replay protection (Redis) is not reachable (status ${this.redis.status})`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }

  async claim(key: string, until: Date): Promise<boolean> {
    const ttl = until.getTime() - this.clock.now()
    // Already past its lifetime: the attestation itself is refused elsewhere; nothing to remember.
    if (ttl <= 0) return true
    try {
      return (await this.redis.set(`${this.options.keyPrefix}replay:${key}`, '1', 'PX', ttl, 'NX')) === 'OK'
    } catch (error) {
      throw new ServiceUnavailableError('replay protection cannot be checked', error)
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect()
  }
}

/** Claims in this process: for a single instance without Redis. */
export class MemoryReplayGuard implements ReplayGuard {
  private readonly claims = new Map<string, number>()

  constructor(private readonly clock: Clock) {}

  async claim(key: string, until: Date): Promise<boolean> {
    const now = this.clock.now()
    if (this.claims.size > 100_000) for (const [k, expiry] of this.claims) if (expiry <= now) this.claims.delete(k)
    const held = this.claims.get(key)
    if (held !== undefined && held > now) return false
    this.claims.set(key, until.getTime())
    return true
  }

  async close(): Promise<void> {}
}
