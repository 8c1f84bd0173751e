import type { Test } from 'tap'
import type { RedisEndpoint } from '../../src/lib/redis-connection.js'
import { startOwnRedisCluster } from './redis-cluster.js'
import { startOwnSentinel } from './redis-sentinel.js'
import { REDIS_URL } from './servers.js'

/**
 * The ways the service can reach Redis, for contracts that must hold on each: the shared server by
 * URL, and a Cluster and a Sentinel set-up of the test's own (started for the test, stopped after it).
 */
export const REDIS_KINDS: Record<'redis' | 'redis cluster' | 'redis sentinel', (t: Test) => Promise<RedisEndpoint>> = {
  redis: async () => ({ url: REDIS_URL }),
  'redis cluster': async (t) => ({ cluster: (await startOwnRedisCluster(t)).nodes }),
  'redis sentinel': async (t) => (await startOwnSentinel(t)).endpoint,
}

/** An endpoint as `redis` in the configuration file says it (`host:port` strings). */
export function redisConfigOf(endpoint: RedisEndpoint): Record<string, unknown> {
  const hostPort = (nodes: { host: string; port: number }[]) => nodes.map((node) => `${node.host}:${node.port}`)
  if ('sentinels' in endpoint) return { ...endpoint, sentinels: hostPort(endpoint.sentinels) }
  if ('cluster' in endpoint) return { ...endpoint, cluster: hostPort(endpoint.cluster) }
  return endpoint
}
