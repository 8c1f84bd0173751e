import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { ErrorReason } from '../error-reasons.js'
import { ServiceUnavailableError } from '../errors.js'
import { openRedis, openRedisSubscriber, type RedisClient, type RedisConnectionOptions } from './redis-connection.js'

export interface RedisChangeFeedOptions {
  connection: RedisConnectionOptions
  channel: string
  /** How sts_redis_connection_up names the two connections: the one publishing, the one subscribed. */
  purposes: { publisher: string; subscriber: string }
  /** What the feed is, in messages (`grant change feed`). */
  describes: string
  /** The reason start() fails with when Redis does not answer. */
  unavailable: ErrorReason
  /** How long start() waits for the first subscription; 5 s by default. */
  startTimeoutMs?: number
  /**
   * Numbered publications: each takes the next number of this counter and is published as
   * `<number> <instance>`; a number already seen is not heard twice, and after a reconnection a counter
   * past the last number seen is a publication missed, heard once. Without: each message is heard as
   * it is, and after every subscription (the first too) the listener hears that some may have been missed.
   */
  counter?: string
  /** With `counter`: this feed's own publications are not heard (it acted before it published). */
  ignoreOwn?: boolean
}

/**
 * Hears the feed: `message` is a plain feed's message; undefined for a numbered one's, and when
 * messages may have been missed (a reconnection), which the listener makes up for itself.
 */
export type ChangeListener = (message?: string) => void

const NUMBERED = /^(\d{1,15}) ([\w-]{1,64})$/

/**
 * A Redis pub/sub channel that tells every instance something changed, shared by the grant and key
 * change feeds (src/grants/redis-grant-feed.ts) and the reload feed (src/reload/redis-reload-feed.ts).
 * Pub/sub delivers at most once, so a message lost to a dropped connection must be made up for: every
 * (re)subscription is followed by a catch-up, and a subscription that fails is retried while the
 * connection stands. Publications go through a connection of their own, never queued while
 * disconnected (src/lib/redis-connection.ts): one made during an outage fails at once.
 */
export class RedisChangeFeed {
  private readonly client: RedisClient
  private readonly subscriber: Redis
  /** Tells this instance's own numbered messages from the others'. */
  private readonly instance = randomUUID()
  private listener: ChangeListener | undefined
  private subscribed: (() => void) | undefined
  private seen = 0
  private everSubscribed = false

  constructor(
    private readonly options: RedisChangeFeedOptions,
    private readonly logger: Logger,
  ) {
    this.client = openRedis(options.connection, { purpose: options.purposes.publisher })
    // Resubscribing is subscribe()'s job: every (re)subscription is followed by a catch-up.
    this.subscriber = openRedisSubscriber(options.connection, { purpose: options.purposes.subscriber })
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === options.channel) this.heard(message)
    })
    this.subscriber.on('ready', () => void this.subscribe())
  }

  /** Calls `listener` from now on; resolves once subscribed, or throws ServiceUnavailableError after the start timeout. */
  start(listener: ChangeListener): Promise<void> {
    this.listener = listener
    const first = new Promise<void>((resolve) => (this.subscribed = resolve))
    if (this.subscriber.status === 'ready') void this.subscribe()
    let timeout: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => {
      timeout = setTimeout(
        () =>
          reject(
            new ServiceUnavailableError(
              `the ${this.options.describes} (Redis) is not reachable (status ${this.subscriber.status})`,
              this.options.unavailable,
            ),
          ),
        this.options.startTimeoutMs ?? 5000,
      )
    })
    return Promise.race([first, late]).finally(() => clearTimeout(timeout))
  }

  /** Publishes `message` (a plain feed), or the next number (a numbered one). Rejects with Redis's error. */
  async publish(message = ''): Promise<void> {
    const { channel, counter } = this.options
    if (counter === undefined) {
      await this.client.publish(channel, message)
      return
    }
    const number = await this.client.incr(counter)
    // Seen already: its own message, when it comes back, is not heard (nor, after a reconnection, missed).
    if (this.options.ignoreOwn) this.seen = Math.max(this.seen, number)
    await this.client.publish(channel, `${number} ${this.instance}`)
  }

  async close(): Promise<void> {
    this.listener = undefined
    this.client.disconnect()
    this.subscriber.disconnect()
  }

  private heard(message: string): void {
    if (this.options.counter === undefined) {
      this.listener?.(message)
      return
    }
    const parsed = NUMBERED.exec(message)
    if (!parsed) return
    const number = Number(parsed[1])
    if (number <= this.seen) return
    this.seen = number
    if (!this.options.ignoreOwn || parsed[2] !== this.instance) this.listener?.()
  }

  private async subscribe(): Promise<void> {
    const { channel, counter } = this.options
    try {
      await this.subscriber.subscribe(channel)
      if (counter !== undefined) {
        // Subscribed first, then read: a publication numbered in between is heard, not skipped.
        const number = Number((await this.client.get(counter)) ?? 0)
        // At start the listener has just read the state: only a reconnection has publications to make up for.
        if (this.everSubscribed && number > this.seen) this.listener?.()
        this.seen = Math.max(this.seen, number)
      }
    } catch (error) {
      this.logger.warn(
        { err: { message: (error as Error).message } },
        `cannot subscribe to the ${this.options.describes} (Redis); retrying`,
      )
      setTimeout(() => {
        if (this.subscriber.status === 'ready') void this.subscribe()
      }, 500).unref()
      return
    }
    this.everSubscribed = true
    this.subscribed?.()
    this.subscribed = undefined
    // Whatever was published while this connection was down is read by the listener now.
    if (counter === undefined) this.listener?.()
  }
}
