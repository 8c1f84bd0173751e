import type { Logger } from 'pino'
import { ServiceUnavailableError } from '../errors.js'
import type { ErrorReason } from '../error-reasons.js'
import { RedisChangeFeed } from '../lib/redis-change-feed.js'
import type { RedisConnectionOptions } from '../lib/redis-connection.js'
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
  private readonly feed: RedisChangeFeed
  private readonly topic: NonNullable<RedisGrantFeedOptions['topic']>

  constructor(options: RedisGrantFeedOptions, logger: Logger) {
    const { keyPrefix, startTimeoutMs, topic = GRANTS, ...connection } = options
    this.topic = topic
    this.feed = new RedisChangeFeed(
      {
        connection,
        channel: `${keyPrefix}${topic.name}:changes`,
        // Named by topic in sts_redis_connection_up: grants, grant_feed; keys, keys_feed.
        purposes: { publisher: topic.name, subscriber: topic === GRANTS ? 'grant_feed' : `${topic.name}_feed` },
        describes: topic.describes,
        unavailable: topic.unavailable,
        ...(startTimeoutMs !== undefined ? { startTimeoutMs } : {}),
      },
      logger,
    )
  }

  /** Each message is a position (or `changed`); after each (re)subscription, a wake-up without one. */
  start(wake: (seq?: bigint) => void): Promise<void> {
    return this.feed.start((message) => (message !== undefined && /^\d{1,19}$/.test(message) ? wake(BigInt(message)) : wake()))
  }

  async publish(seq?: bigint): Promise<void> {
    try {
      await this.feed.publish(seq === undefined ? 'changed' : String(seq))
    } catch (error) {
      throw new ServiceUnavailableError(`the ${this.topic.describes} (Redis) cannot be written`, this.topic.unavailable, error)
    }
  }

  close(): Promise<void> {
    return this.feed.close()
  }
}
