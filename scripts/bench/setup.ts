import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseConfig, type Config } from '../../src/config.js'
import type { FakeCluster } from '../../test/support/cluster.js'
import { prepareRedis, recreateDatabase } from './backends.js'
import { BENCH_DATABASE, BENCH_REDIS_PREFIX, type BenchOptions } from './options.js'
import { BENCH_TRUST_DOMAIN } from './requests.js'
import { redactUrl } from './service.js'
import { BENCH_CLUSTER_NAME, createBenchCluster, mintWorkloadTokens, type BenchWorkload } from './workloads.js'

/** What every part of the bench starts from: fresh backends, the cluster, the service's configuration, the tokens. */

const STS_AUDIENCE = 'seed-sts-bench'

export interface Prepared {
  config: Config
  cluster: FakeCluster
  workloads: BenchWorkload[]
  databaseUrl: string
  redisVersion: string
}

/** Fresh backends, the bench cluster, the service's configuration, and one token per workload. */
export async function prepare(options: BenchOptions, workDir: string, say: (message: string) => void): Promise<Prepared> {
  const redisVersion = await prepareRedis(options.redisUrl, BENCH_REDIS_PREFIX)
  const databaseUrl = await recreateDatabase(options.adminDatabaseUrl, BENCH_DATABASE)
  say(
    `database ${BENCH_DATABASE} recreated on ${redactUrl(options.adminDatabaseUrl)}; Redis at ${redactUrl(options.redisUrl)} (keys under "${BENCH_REDIS_PREFIX}")`,
  )
  const cluster = await createBenchCluster()
  const config = writeConfig(workDir, cluster, options.metrics)
  say(`minting ${options.serviceAccounts} projected service-account tokens (RS256), one per workload`)
  const workloads = await mintWorkloadTokens(cluster, options.serviceAccounts, STS_AUDIENCE)
  return { config, cluster, workloads, databaseUrl, redisVersion }
}

/**
 * The configuration an operator would write: one Kubernetes cluster, its JWKS inline, the per-address
 * limits off (the per-identity budget and metrics stay on, as by default).
 */
function writeConfig(workDir: string, cluster: FakeCluster, metrics: boolean): Config {
  const file = {
    issuer: 'https://sts.bench.example',
    trustDomain: BENCH_TRUST_DOMAIN,
    audience: STS_AUDIENCE,
    keys: { dir: join(workDir, 'keys'), algorithm: 'ES256' },
    redis: { keyPrefix: BENCH_REDIS_PREFIX },
    // One client address sends everything here: a per-address limit would measure the limiter.
    limits: { tokenRequestsPerMinute: 0, adminRequestsPerMinute: 0 },
    attestors: [{ kind: 'kubernetes', name: BENCH_CLUSTER_NAME, issuer: cluster.issuer, jwks: cluster.jwks }],
    metrics: { enabled: metrics },
  }
  writeFileSync(join(workDir, 'sts.json'), JSON.stringify(file, null, 2))
  return parseConfig(file)
}
