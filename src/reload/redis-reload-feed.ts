import type { Logger } from 'pino'
import { RedisChangeFeed } from '../lib/redis-change-feed.js'
import type { RedisConnectionOptions } from '../lib/redis-connection.js'
import type { ReloadFeed } from './reload-feed.js'

export type RedisReloadFeedOptions = RedisConnectionOptions & {
  keyPrefix: string
  /** How long start() waits for the first subscription. */
  startTimeoutMs?: number
}

/**
 * Reloads asked for on a Redis channel (`<prefix>config:reload`), as grant changes are announced
 * (src/grants/redis-grant-feed.ts). Each request takes the next number of a counter
 * (`<prefix>config:reload-count`) and is published as `<number> <instance>`; an instance ignores its
 * own (it reloaded before asking). Pub/sub delivers at most once: after a reconnection, an instance
 * that finds the counter past the last number it saw reloads once, so a request made while it was
 * cut off is not lost.
 */
export class RedisReloadFeed implements ReloadFeed {
  private readonly feed: RedisChangeFeed

  constructor(options: RedisReloadFeedOptions, logger: Logger) {
    const { keyPrefix, startTimeoutMs, ...connection } = options
    this.feed = new RedisChangeFeed(
      {
        connection,
        channel: `${keyPrefix}config:reload`,
        purposes: { publisher: 'reloads', subscriber: 'reload_feed' },
        describes: 'reload feed',
        unavailable: 'service_unavailable',
        ...(startTimeoutMs !== undefined ? { startTimeoutMs } : {}),
        counter: `${keyPrefix}config:reload-count`,
        ignoreOwn: true,
      },
      logger,
    )
  }

  start(asked: () => void): Promise<void> {
    return this.feed.start(() => asked())
  }

  async publish(): Promise<'asked'> {
    await this.feed.publish()
    return 'asked'
  }

  close(): Promise<void> {
    return this.feed.close()
  }
}
