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
   * The service's Prometheus metrics (`metrics.enabled`), on as by default; BENCH_METRICS=0 turns them
   * off, so interleaved runs show what they cost.
   */
  metrics: boolean
  /**
   * Another build's `dist/src/server.js` to run as the service (BENCH_SERVICE_SCRIPT), so two commits
   * are measured by the same load generator, back to back in one session.
   */
  serviceScript?: string
  /** Rounds of revoke-on-one-instance, refused-on-the-other; 0 skips the second instance altogether. */
  revocations: number
  /** Rounds of grant-created-and-disabled-on-one-instance, followed-on-the-other (with the second instance). */
  grantRounds: number
  /**
   * BENCH_DPOP (on by default): after the bearer window, the same load with a fresh DPoP proof on every
   * exchange (bench/dpop.ts), so each run shows what binding a token costs beside the bearer rate.
   */
  dpop: boolean
  /** How organisation size changes the rate (growth.ts); no sizes, no growth part. */
  growth: GrowthOptions
}

export interface GrowthOptions {
  /** Sizes of the grants table to measure beside the smallest (GROWTH_BASELINE_GRANTS), ascending. */
  grants: number[]
  /** Numbers of standing subject and source revocations to measure beside none, ascending. */
  standingRevocations: number[]
  /** Ledger rows to measure beside an empty ledger, ascending (each with the smallest grants table, none revoked). */
  ledgerRows: number[]
  /** At each ledger size, how many times each GET /v1/ledger filter is timed. */
  ledgerQueries: number
  /** Skip everything else (ceiling, main window, revocation reach, globs): a quick check of growth alone. */
  only: boolean
}

/** The smallest grants table, which every other size is compared with: the issue's 10. */
export const GROWTH_BASELINE_GRANTS = 10

/** The longest DPoP window: its pre-signed proofs stay within the service's 60 s acceptance window. */
export const DPOP_MAX_SECONDS = 45

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
  // "100000" or "1000,10000,100000" (underscores allowed: 100_000): each size measured in turn, smallest first.
  const sizes = (name: string, min: number): number[] => {
    const raw = env[name]
    if (raw === undefined || raw.trim() === '') return []
    const values = raw.split(',').map((part) => part.trim().replace(/_/g, ''))
    if (values.some((value) => !/^\d+$/.test(value) || Number(value) < min || !Number.isSafeInteger(Number(value)))) {
      problems.push(`${name}=${JSON.stringify(raw)}: must be a whole number of at least ${min}, or a comma-separated list of them`)
      return []
    }
    return [...new Set(values.map(Number))].sort((a, b) => a - b)
  }
  const onOff = (name: string, fallback: boolean): boolean => {
    const raw = env[name]
    if (raw === undefined || raw === '') return fallback
    if (raw === '1' || raw === 'true') return true
    if (raw === '0' || raw === 'false') return false
    problems.push(`${name}=${JSON.stringify(raw)}: must be 1 or 0 (true or false)`)
    return fallback
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
    cpuProfile: flag(env.BENCH_CPU_PROF),
    metrics: onOff('BENCH_METRICS', true),
    revocations: number('BENCH_REVOCATIONS', 200, true, 0),
    grantRounds: number('BENCH_GRANT_ROUNDS', 100, true, 0),
    serviceScript: env.BENCH_SERVICE_SCRIPT || undefined,
    dpop: onOff('BENCH_DPOP', true),
    growth: {
      grants: sizes('BENCH_GRANTS', GROWTH_BASELINE_GRANTS + 1),
      standingRevocations: sizes('BENCH_STANDING_REVOCATIONS', 1),
      ledgerRows: sizes('BENCH_LEDGER_ROWS', 1),
      ledgerQueries: number('BENCH_LEDGER_QUERIES', 100, true, 1),
      only: flag(env.BENCH_GROWTH_ONLY),
    },
  }
  const { growth } = options
  if (growth.only && !hasGrowthSizes(growth))
    problems.push(
      'BENCH_GROWTH_ONLY=1 needs BENCH_GRANTS, BENCH_STANDING_REVOCATIONS or BENCH_LEDGER_ROWS: there would be nothing to measure',
    )
  // Proofs are signed before the window (bench/dpop.ts) and the service takes them 60 s around their iat.
  if (options.dpop && options.seconds > DPOP_MAX_SECONDS)
    problems.push(
      `BENCH_SECONDS=${options.seconds} with BENCH_DPOP on: its proofs, signed before the window, would be too old by its end (the service takes them 60 s around their iat); at most ${DPOP_MAX_SECONDS}, or BENCH_DPOP=0`,
    )
  if (problems.length > 0) throw new BenchOptionsError(`invalid benchmark settings:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
  return options
}

/** Whether any growth size was asked for: without one there is no growth part. */
export function hasGrowthSizes(growth: GrowthOptions): boolean {
  return growth.grants.length > 0 || growth.standingRevocations.length > 0 || growth.ledgerRows.length > 0
}

function flag(raw: string | undefined): boolean {
  return raw === '1' || raw === 'true'
}
