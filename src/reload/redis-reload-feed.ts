import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { ServiceUnavailableError } from '../errors.js'
import { openRedis, openRedisSubscriber, type RedisClient, type RedisConnectionOptions } from '../lib/redis-connection.js'
import type { ReloadFeed } from './reload-feed.js'

export type RedisReloadFeedOptions = RedisConnectionOptions & {
  keyPrefix: string
  /** How long start() waits for the first subscription. */
  startTimeoutMs?: number
}

const MESSAGE = /^(\d{1,15}) ([\w-]{1,64})$/

/**
 * Reloads asked for on a Redis channel (`<prefix>config:reload`), as grant changes are announced
 * (src/grants/redis-grant-feed.ts). Each request takes the next number of a counter
 * (`<prefix>config:reload-count`) and is published as `<number> <instance>`; an instance ignores its
 * own (it reloaded before asking). Pub/sub delivers at most once: after a reconnection, an instance
 * that finds the counter past the last number it saw reloads once, so a request made while it was
 * cut off is not lost.
 */
export class RedisReloadFeed implements ReloadFeed {
  private readonly client: RedisClient
  private readonly subscriber: Redis
  private readonly channel: string
  private readonly counter: string
  /** Tells this instance's own messages from the others'. */
  private readonly instance = randomUUID()
  private asked: (() => void) | undefined
  private subscribed: (() => void) | undefined
  private seen = 0
  private everSubscribed = false

  constructor(
    private readonly options: RedisReloadFeedOptions,
    private readonly logger: Logger,
  ) {
    this.channel = `${options.keyPrefix}config:reload`
    this.counter = `${options.keyPrefix}config:reload-count`
    this.client = openRedis(options, { purpose: 'reloads' })
    // Resubscribing is subscribe()'s job: every (re)subscription is followed by a catch-up.
    this.subscriber = openRedisSubscriber(options, { purpose: 'reload_feed' })
    this.subscriber.on('message', (channel: string, message: string) => {
      const parsed = channel === this.channel ? MESSAGE.exec(message) : null
      if (!parsed) return
      const number = Number(parsed[1])
      if (number <= this.seen) return
      this.seen = number
      if (parsed[2] !== this.instance) this.asked?.()
    })
    this.subscriber.on('ready', () => void this.subscribe())
  }

  start(asked: () => void): Promise<void> {
    this.asked = asked
    const first = new Promise<void>((resolve) => (this.subscribed = resolve))
    if (this.subscriber.status === 'ready') void this.subscribe()
    let timeout: NodeJS.Timeout | undefined
    const late = new Promise<never>((_, reject) => {
      timeout = setTimeout(
        () =>
          reject(
            new ServiceUnavailableError(
              `the reload feed (Redis) is not reachable (status ${this.subscriber.status})`,
              'service_unavailable',
            ),
          ),
        this.options.startTimeoutMs ?? 5000,
      )
    })
    return Promise.race([first, late]).finally(() => clearTimeout(timeout))
  }

  async publish(): Promise<'asked'> {
    const number = await this.client.incr(this.counter)
    this.seen = Math.max(this.seen, number)
    await this.client.publish(this.channel, `${number} ${this.instance}`)
    return 'asked'
  }

  async close(): Promise<void> {
    this.asked = undefined
    this.client.disconnect()
    this.subscriber.disconnect()
  }

  private async subscribe(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.channel)
      // Subscribed first, then read: a request numbered in between is heard, not skipped.
      const number = Number((await this.client.get(this.counter)) ?? 0)
      // At start the configuration was just read: only a reconnection has requests to make up for.
      if (this.everSubscribed && number > this.seen) this.asked?.()
      this.seen = Math.max(this.seen, number)
    } catch (error) {
      this.logger.warn({ err: { message: (error as Error).message } }, 'cannot subscribe to the reload feed (Redis); retrying')
      setTimeout(() => {
        if (this.subscriber.status === 'ready') void this.subscribe()
      }, 500).unref()
      return
    }
    this.everSubscribed = true
    this.subscribed?.()
    this.subscribed = undefined
  }
}
