/**
 * What `npm run bench` can be told: BENCH_* environment variables only, so the service's own
 * DATABASE_URL, REDIS_URL or STS_CONFIG in the shell can never point the benchmark at real data.
 */
export interface BenchOptions {
  /**
   * A database on the Postgres server to use, for administration only: the bench drops and creates
   * its own database `sts_bench` on that server and points the service at it.
   */
  adminDatabaseUrl: string
  redisUrl: string
  /** Length of the measured window, after the warm-up. */
  seconds: number
  warmupSeconds: number
  connections: number
  /** How many distinct workloads (service accounts), each with its own projected token. */
  serviceAccounts: number
  /** Length of the in-process ceiling measurement. */
  ceilingSeconds: number
  /** Worker processes of the service (its `workers` setting). */
  workers: number
  /** Run the service under `node --cpu-prof` and summarise where its time went. */
  cpuProfile: boolean
  /**
   * Another build's `dist/src/server.js` to run as the service (BENCH_SERVICE_SCRIPT), so two commits
   * are measured by the same load generator, back to back in one session.
   */
  serviceScript?: string
  /** Rounds of revoke-on-one-instance, refused-on-the-other; 0 skips the second instance altogether. */
  revocations: number
  /** Rounds of grant-created-and-disabled-on-one-instance, followed-on-the-other (with the second instance). */
  grantRounds: number
}

export const BENCH_DATABASE = 'sts_bench'
export const BENCH_REDIS_PREFIX = 'sts-bench:'

export class BenchOptionsError extends Error {}

export function benchOptionsFrom(env: Record<string, string | undefined>): BenchOptions {
  const problems: string[] = []
  const number = (name: string, fallback: number, integer: boolean, min: number): number => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    const value = Number(raw)
    if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
      problems.push(`${name}=${JSON.stringify(raw)}: must be ${integer ? 'an integer' : 'a number'} of at least ${min}`)
      return fallback
    }
    return value
  }
  const options: BenchOptions = {
    adminDatabaseUrl: env.BENCH_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test',
    redisUrl: env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379',
    seconds: number('BENCH_SECONDS', 10, false, 1),
    warmupSeconds: number('BENCH_WARMUP_SECONDS', 2, false, 0),
    connections: number('BENCH_CONNECTIONS', 64, true, 1),
    serviceAccounts: number('BENCH_SERVICE_ACCOUNTS', 1000, true, 1),
    ceilingSeconds: number('BENCH_CEILING_SECONDS', 3, false, 0.5),
    workers: number('BENCH_WORKERS', 1, true, 1),
    cpuProfile: env.BENCH_CPU_PROF === '1' || env.BENCH_CPU_PROF === 'true',
    revocations: number('BENCH_REVOCATIONS', 200, true, 0),
    grantRounds: number('BENCH_GRANT_ROUNDS', 100, true, 0),
    serviceScript: env.BENCH_SERVICE_SCRIPT || undefined,
  }
  if (problems.length > 0) throw new BenchOptionsError(`invalid benchmark settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  return options
}
