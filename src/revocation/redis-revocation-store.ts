import { Redis } from 'ioredis'
import { ServiceUnavailableError } from '../errors.js'
import type { Clock } from '../lib/clock.js'
import type { RevocationStore, RevocationTarget } from './revocation-store.js'

export interface RedisRevocationOptions {
  url: string
  keyPrefix: string
  /** A check that takes longer than this fails closed. */
  commandTimeoutMs: number
}

/**
 * Revocations shared by every instance, one Redis key per revoked target. The client never queues
 * commands while disconnected: a check during an outage fails at once (and so closed) instead of
 * waiting for a reconnect.
 */
export class RedisRevocationStore implements RevocationStore {
  private readonly redis: Redis

  constructor(
    options: RedisRevocationOptions,
    private readonly clock: Clock,
  ) {
    this.redis = new Redis(options.url, {
      keyPrefix: options.keyPrefix,
      commandTimeout: options.commandTimeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: false,
      // Checks made in the same turn of the event loop share one write to Redis.
      enableAutoPipelining: true,
      retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
    })
    // Connection errors surface through the commands that fail; the client keeps reconnecting.
    this.redis.on('error', () => {})
  }

  /** Resolves once connected, so start-up can refuse to serve without revocation state. */
  async ready(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (this.redis.status !== 'ready') {
      if (Date.now() > deadline) throw new ServiceUnavailableError(`the revocation store (Redis) is not reachable (status ${this.redis.status})`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }

  async findRevoked(targets: RevocationTarget[]): Promise<RevocationTarget | undefined> {
    if (targets.length === 0) return undefined
    let values: (string | null)[]
    try {
      values = await this.redis.mget(targets.map(keyOf))
    } catch (error) {
      throw new ServiceUnavailableError('revocation state cannot be checked', error)
    }
    const index = values.findIndex((value) => value !== null)
    return index >= 0 ? targets[index] : undefined
  }

  async revoke(target: RevocationTarget, expiresAt?: Date): Promise<void> {
    const value = JSON.stringify({ revokedAt: new Date(this.clock.now()).toISOString() })
    try {
      if (expiresAt) {
        const ttl = expiresAt.getTime() - this.clock.now()
        if (ttl <= 0) return
        await this.redis.set(keyOf(target), value, 'PX', ttl)
      } else {
        await this.redis.set(keyOf(target), value)
      }
    } catch (error) {
      throw new ServiceUnavailableError('the revocation store cannot be written', error)
    }
  }

  async lift(target: RevocationTarget): Promise<void> {
    try {
      await this.redis.del(keyOf(target))
    } catch (error) {
      throw new ServiceUnavailableError('the revocation store cannot be written', error)
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect()
  }
}

function keyOf(target: RevocationTarget): string {
  return `revoked:${target.kind}:${target.value}`
}
