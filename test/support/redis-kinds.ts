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
