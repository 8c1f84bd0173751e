import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { ServiceUnavailableError } from '../errors.js'
import type { ErrorReason } from '../error-reasons.js'
import { openRedis, openRedisSubscriber, type RedisClient, type RedisConnectionOptions } from '../lib/redis-connection.js'
import type { GrantFeed } from './grant-feed.js'

export type RedisGrantFeedOptions = RedisConnectionOptions & {
  keyPrefix: string
  /** How long start() waits for the first subscription. */
  startTimeoutMs?: number
  /**
   * Another feed of the same kind on its own channel (`<prefix><topic>:changes`): the signing keys use
   * this class for theirs. `grants` by default.
   */
  topic?: { name: string; describes: string; unavailable: ErrorReason }
}

const GRANTS = { name: 'grants', describes: 'grant change feed', unavailable: 'grants_unavailable' } as const

/**
 * Grant changes announced on a Redis channel (`<prefix>grants:changes`), published after the change
 * committed: each message is the position of the change, and every instance that is behind it reads
 * what changed from the database. Pub/sub delivers at most once; a message lost to a dropped
 * connection is made up for by the catch-up each (re)subscription triggers, and by the catalog's
 * periodic catch-up.
 */
export class RedisGrantFeed implements GrantFeed {
  private readonly client: RedisClient
  private readonly subscriber: Redis
  private readonly channel: string
  private readonly topic: NonNullable<RedisGrantFeedOptions['topic']>
  private wake: ((seq?: bigint) => void) | undefined
  private subscribed: (() => void) | undefined

  constructor(
    private readonly options: RedisGrantFeedOptions,
    private readonly logger: Logger,
  ) {
    this.topic = options.topic ?? GRANTS
    this.channel = `${options.keyPrefix}${this.topic.name}:changes`
    // Never queued while disconnected (src/lib/redis-connection.ts): a publication during an outage fails at once.
    // Named by topic in sts_redis_connection_up: grants, grant_feed; keys, keys_feed.
    this.client = openRedis(options, { purpose: this.topic.name })
    // Resubscribing is subscribe()'s job: every (re)subscription is followed by a catch-up.
    this.subscriber = openRedisSubscriber(options, { purpose: this.topic === GRANTS ? 'grant_feed' : `${this.topic.name}_feed` })
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return
      if (/^\d{1,19}$/.test(message)) this.wake?.(BigInt(message))
      else this.wake?.()
    })
    this.subscriber.on('ready', () => void this.subscribe())
  }

  start(wake: (seq?: bigint) => void): Promise<void> {
    this.wake = wake
    const first = new Promise<void>((resolve) => (this.subscribed = resolve))
    if (this.subscriber.status === 'ready') void this.subscribe()
    let timeout: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => {
      timeout = setTimeout(
        () =>
          reject(
            new ServiceUnavailableError(
              `the ${this.topic.describes} (Redis) is not reachable (status ${this.subscriber.status})`,
              this.topic.unavailable,
            ),
          ),
        this.options.startTimeoutMs ?? 5000,
      )
    })
    return Promise.race([first, late]).finally(() => clearTimeout(timeout))
  }

  async publish(seq?: bigint): Promise<void> {
    try {
      await this.client.publish(this.channel, seq === undefined ? 'changed' : String(seq))
    } catch (error) {
      throw new ServiceUnavailableError(`the ${this.topic.describes} (Redis) cannot be written`, this.topic.unavailable, error)
    }
  }

  async close(): Promise<void> {
    this.wake = undefined
    this.client.disconnect()
    this.subscriber.disconnect()
  }

  private async subscribe(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.channel)
    } catch (error) {
      this.logger.warn({ err: { message: (error as Error).message } }, `cannot subscribe to the ${this.topic.describes} (Redis); retrying`)
      setTimeout(() => {
        if (this.subscriber.status === 'ready') void this.subscribe()
      }, 500).unref()
      return
    }
    this.subscribed?.()
    this.subscribed = undefined
    // Whatever was published while this connection was down is read from the database now.
    this.wake?.()
  }
}
