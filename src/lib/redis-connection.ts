import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis'
import { ServiceUnavailableError, type ErrorReason } from '../errors.js'
import type { RedisConnectionWatch } from '../observability/observers.js'
import { nodeRotatingConnector } from './redis-node-rotation.js'

/** One Redis server: a Sentinel, or a node of a Cluster. */
export interface RedisNode {
  host: string
  port: number
}

/** Credentials of the Redis servers that hold the data (with a URL, they are in the URL). */
export interface RedisCredentials {
  username?: string
  password?: string
}

/**
 * Where Redis is, from config.redis: one server by URL, a primary found through Sentinel, or a Cluster
 * found from some of its nodes.
 */
export type RedisEndpoint =
  | { url: string }
  | ({ sentinels: RedisNode[]; name: string; sentinelPassword?: string } & RedisCredentials)
  | ({ cluster: RedisNode[] } & RedisCredentials)

/** Where Redis is and how long a command may take: config.redis. */
export type RedisConnectionOptions = RedisEndpoint & {
  commandTimeoutMs: number
  /** Told of every connection opened, with its purpose: the metrics report whether each is up. */
  watch?: RedisConnectionWatch
  /** Given every command connection opened, to trace its commands (src/tracing/); absent when tracing is off. */
  commands?: { attach(connection: RedisClient): void }
}

/** What a connection is for (`revocations`, `replay`...): how the metrics name it. */
export interface RedisPurpose {
  purpose?: string
}

/** A connection for commands: to one server (URL or Sentinel's primary), or to a whole Cluster. */
export type RedisClient = Redis | Cluster

/**
 * Every Redis connection the service opens (revocations, replay protection, rate limits) behaves the
 * same way in an outage: a command fails within `commandTimeoutMs`, or at once while disconnected (no
 * offline queue, no retry), so a store that cannot answer fails closed instead of queueing requests;
 * the connection meanwhile reconnects by itself, backing off to one attempt a second. Keys are
 * prefixed by their users with `redis.keyPrefix`, never by ioredis, so keys, scripts and channels
 * all name the same things.
 *
 * Through Sentinel, every (re)connection asks the Sentinels for the current primary, and a write that
 * reaches a demoted primary (READONLY) drops the connection so the next one finds the new primary; the
 * command itself fails (closed). On a Cluster, commands go to the node that owns their key's slot:
 * scripts that touch several keys keep them in one slot with a hash tag (see the revocation keys).
 */
export function openRedis(
  options: RedisConnectionOptions,
  role: Pick<RedisOptions, 'enableAutoPipelining'> & RedisPurpose = {},
): RedisClient {
  const { purpose = 'other', ...behaviour } = role
  const redis = 'cluster' in options ? openCluster(options, behaviour) : openServer(options, behaviour)
  // Failures surface on the commands (and, for revocations, as missed heartbeats); the connection's
  // own error events would only be noise.
  redis.on('error', () => {})
  options.watch?.opened(purpose, redis)
  options.commands?.attach(redis)
  return redis
}

/**
 * A connection for subscriptions: always one server, whose 'close' and 'ready' tell its user that
 * messages may have been missed (it resubscribes and catches up itself; ioredis does not resubscribe).
 * On a Cluster, a classic PUBLISH reaches every node, so one node hears every channel; each reconnection
 * tries the next of the configured nodes, so a node that failed is left behind. (ioredis's own Cluster
 * subscriber moves to another node silently, and a drop that nobody hears of is a missed revocation.)
 */
export function openRedisSubscriber(options: RedisConnectionOptions, { purpose = 'subscriber' }: RedisPurpose = {}): Redis {
  const redis =
    'cluster' in options
      ? new Redis({
          ...commonOptions(options),
          ...credentials(options),
          Connector: nodeRotatingConnector(options.cluster),
          autoResubscribe: false,
        })
      : openServer(options, { autoResubscribe: false })
  redis.on('error', () => {})
  options.watch?.opened(purpose, redis)
  return redis
}

function commonOptions(options: RedisConnectionOptions): RedisOptions {
  return {
    commandTimeout: options.commandTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    // A demoted primary refuses writes: reconnect (through Sentinel, to the new one), never resend.
    reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 1 : false),
  }
}

function credentials(options: RedisCredentials): RedisCredentials {
  return {
    ...(options.username !== undefined ? { username: options.username } : {}),
    ...(options.password !== undefined ? { password: options.password } : {}),
  }
}

/** A connection to one server: by URL, or the primary the Sentinels name. */
function openServer(options: Exclude<RedisConnectionOptions, { cluster: RedisNode[] }>, role: RedisOptions): Redis {
  if ('url' in options) return new Redis(options.url, { ...commonOptions(options), ...role })
  return new Redis({
    ...commonOptions(options),
    ...credentials(options),
    sentinels: options.sentinels,
    name: options.name,
    ...(options.sentinelPassword !== undefined ? { sentinelPassword: options.sentinelPassword } : {}),
    // Sentinels unreachable: keep asking, as the connection itself does.
    sentinelRetryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    // Told of a failover by the Sentinels at once, rather than at the next failed command.
    failoverDetector: true,
    ...role,
  })
}

function openCluster(
  options: Extract<RedisConnectionOptions, { cluster: RedisNode[] }>,
  role: Pick<RedisOptions, 'enableAutoPipelining'>,
): Cluster {
  const clusterOptions: ClusterOptions = {
    enableOfflineQueue: false,
    clusterRetryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    // A failover's MOVED and CLUSTERDOWN are followed a few times, each within the command's own timeout.
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    maxRedirections: 6,
    redisOptions: { ...commonOptions(options), ...credentials(options) },
    ...role,
  }
  return new Cluster(options.cluster, clusterOptions)
}

/**
 * Resolves once `redis` is connected, so start-up waits for a store rather than failing its first
 * requests; throws ServiceUnavailableError naming `what` when it is not reachable within `timeoutMs`.
 */
export async function waitForRedis(redis: RedisClient, what: string, reason: ErrorReason, timeoutMs = 5000): Promise<void> {
  for (const started = Date.now(); redis.status !== 'ready';) {
    if (Date.now() - started > timeoutMs)
      throw new ServiceUnavailableError(`${what} (Redis) is not reachable (status ${redis.status})`, reason)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
