import { z } from 'zod'
import type { RedisEndpoint, RedisNode } from './redis-connection.js'

/** `host:port` of a Sentinel or a Cluster node (`[::1]:26379` for an IPv6 address). */
const HostPort = z.string().transform((value, ctx): RedisNode => {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(value.trim())
  const port = Number(match?.[3])
  if (!match || port < 1 || port > 65_535) {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not host:port (e.g. redis-0.redis:26379, 10.0.0.5:6379, [fd00::5]:6379)` })
    return z.NEVER
  }
  return { host: match[1] ?? match[2], port }
})

const REDIS_DEFAULTS = { keyPrefix: 'sts:', commandTimeoutMs: 500, heartbeatMs: 1000, maxStalenessMs: 5000 }

/**
 * Where Redis is: one of `url` (one server), `sentinels` with `name` (the primary they watch), or
 * `cluster` (some of its nodes). Each problem names the key; `endpoint` is what the connections use.
 */
const RedisSection = z
  .object({
    url: z.string().min(1).optional(),
    /** Sentinels to ask where the primary `name` is: `host:port` each. */
    sentinels: z.array(HostPort).min(1, 'list at least one Sentinel (three or more in production)').optional(),
    /** The primary's name as the Sentinels know it (`sentinel monitor <name> ...`). */
    name: z.string().min(1).optional(),
    /** The Sentinels' own password (`requirepass` in sentinel.conf); REDIS_SENTINEL_PASSWORD. */
    sentinelPassword: z.string().min(1).optional(),
    /** Nodes of a Redis Cluster, `host:port` each: the rest are found from them. */
    cluster: z.array(HostPort).min(1, 'list at least one node of the Cluster (every primary, preferably)').optional(),
    /** ACL user and password of the servers holding the data, with sentinels or cluster (a URL carries its own); REDIS_PASSWORD. */
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    keyPrefix: z.string().default(REDIS_DEFAULTS.keyPrefix),
    commandTimeoutMs: z.number().int().positive().default(REDIS_DEFAULTS.commandTimeoutMs),
    /** How often an instance checks its subscription to revocations is alive. */
    heartbeatMs: z.number().int().positive().default(REDIS_DEFAULTS.heartbeatMs),
    /** Out of touch with Redis longer than this, an instance refuses to issue until it has caught up. */
    maxStalenessMs: z.number().int().positive().default(REDIS_DEFAULTS.maxStalenessMs),
  })
  .strict()
  .superRefine((redis, ctx) => {
    const given = (['url', 'sentinels', 'cluster'] as const).filter((key) => redis[key] !== undefined)
    if (given.length > 1)
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `give one of url (REDIS_URL), sentinels or cluster, not ${given.join(' and ')}`,
      })
    if (redis.sentinels && redis.name === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['name'],
        message: 'with sentinels, name the primary as the Sentinels know it (the <name> of `sentinel monitor <name> ...`)',
      })
    for (const key of ['name', 'sentinelPassword'] as const)
      if (redis[key] !== undefined && !redis.sentinels) ctx.addIssue({ code: 'custom', path: [key], message: 'only used with sentinels' })
    for (const key of ['username', 'password'] as const) {
      if (redis[key] === undefined) continue
      if (redis.url !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'with url (REDIS_URL), the credentials go in the URL (redis://user:password@host:6379)',
        })
      else if (!redis.sentinels && !redis.cluster)
        ctx.addIssue({ code: 'custom', path: [key], message: 'only used with sentinels or cluster' })
    }
  })
  .transform((redis) => ({ ...redis, endpoint: redisEndpoint(redis) }))

/**
 * The `redis` section of the configuration (src/config.ts reads it, and REDIS_URL, REDIS_PASSWORD and
 * REDIS_SENTINEL_PASSWORD from the environment); without Redis, `endpoint` is undefined.
 */
export const RedisConfig = RedisSection.default({ ...REDIS_DEFAULTS, endpoint: undefined })

function redisEndpoint(redis: {
  url?: string | undefined
  sentinels?: RedisNode[] | undefined
  name?: string | undefined
  sentinelPassword?: string | undefined
  cluster?: RedisNode[] | undefined
  username?: string | undefined
  password?: string | undefined
}): RedisEndpoint | undefined {
  const credentials = {
    ...(redis.username !== undefined ? { username: redis.username } : {}),
    ...(redis.password !== undefined ? { password: redis.password } : {}),
  }
  if (redis.url !== undefined) return { url: redis.url }
  if (redis.sentinels && redis.name !== undefined) {
    const sentinelPassword = redis.sentinelPassword !== undefined ? { sentinelPassword: redis.sentinelPassword } : {}
    return { sentinels: redis.sentinels, name: redis.name, ...sentinelPassword, ...credentials }
  }
  if (redis.cluster) return { cluster: redis.cluster, ...credentials }
  return undefined
}
