import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { prepareRedis } from './backends.js'
import { fillToSize, migrateBenchDatabase, type GrowthSize } from './growth-fill.js'
import { fillLedger, type LedgerFill } from './ledger-fill.js'
import { measureLedgerTimings, type LedgerTimings } from './ledger-timings.js'
import { driveLoad, percentile, type LoadResult } from './load.js'
import { cpuSnapshot, cpuSplit, describeMachine, residentBytes, type CpuSplit } from './machine.js'
import { BENCH_REDIS_PREFIX, GROWTH_BASELINE_GRANTS, type BenchOptions } from './options.js'
import { exchangeBody, exchangeTarget } from './requests.js'
import { launchService, waitUntilReady, type RunningService, type ServiceLaunch } from './service.js'
import { summariseCpuProfile } from './profile.js'
import { formatProfile } from './report.js'
import type { BenchWorkload } from './workloads.js'

/**
 * Growth: the same load at each size of the organisation, beside the smallest, in one run. For each
 * size the service is stopped, the tables are filled to that size straight in Postgres (growth-fill.ts),
 * and a fresh service is started on them and timed until it has issued its first token; then the
 * warm-up and the measured window, as in the main part. Each size changes one thing only: grants,
 * standing revocations or ledger rows (each of the last two with the smallest grants table). At a
 * ledger size the incident queries are timed on the ledger after the window (ledger-timings.ts). The smallest is measured first and again
 * last, so drift over the run (other load on a shared machine) shows beside the ratios.
 */

export interface GrowthStep {
  size: GrowthSize
  /** The smallest size measured again at the end. */
  repeat: boolean
  measured: LoadResult
  /** From starting the process to /readyz answering 200. */
  readySeconds: number
  /** From starting the process to its first 200 exchange: ready to serve with everything loaded. */
  firstTokenSeconds: number
  /** Resident memory of the service once it had issued its first token, and after the measured window. */
  rssReadyBytes?: number
  rssAfterBytes?: number
  /** Where the machine's CPU went in the measured window (undefined without /proc). */
  cpu?: CpuSplit
  /** At a ledger size: what the fill left, and the searches and cluster revocation timed on it. */
  ledger?: { fill: LedgerFill; timings: LedgerTimings }
}

export interface GrowthRun {
  steps: GrowthStep[]
  connections: number
  seconds: number
  warmupSeconds: number
  /** What went wrong (answers other than 200, a service that did not stop cleanly), for the exit code. */
  failures: string[]
}

const BASELINE: GrowthSize = { grants: GROWTH_BASELINE_GRANTS, standingRevocations: 0, ledgerRows: 0 }

/** The sizes in the order measured: the smallest, grants growing, standing revocations growing, ledger rows growing, the smallest again. */
export function growthSizes(growth: BenchOptions['growth']): { size: GrowthSize; repeat: boolean }[] {
  return [
    { size: BASELINE, repeat: false },
    ...growth.grants.map((grants) => ({ size: { ...BASELINE, grants }, repeat: false })),
    ...growth.standingRevocations.map((standingRevocations) => ({ size: { ...BASELINE, standingRevocations }, repeat: false })),
    ...growth.ledgerRows.map((ledgerRows) => ({ size: { ...BASELINE, ledgerRows }, repeat: false })),
    { size: BASELINE, repeat: true },
  ]
}

export async function measureGrowth(
  launch: ServiceLaunch,
  workloads: readonly BenchWorkload[],
  options: BenchOptions,
  /** tokens.maxTtlSeconds of the service's configuration: the longest-lived ledger rows live this long. */
  maxTtlSeconds: number,
  /** Told of each service started, so an interrupted bench can stop it. */
  onLaunch: (service: RunningService) => void,
  say: (message: string) => void,
): Promise<GrowthRun> {
  await migrateBenchDatabase(launch.databaseUrl)
  const run: GrowthRun = {
    steps: [],
    connections: options.connections,
    seconds: options.seconds,
    warmupSeconds: options.warmupSeconds,
    failures: [],
  }
  for (const { size, repeat } of growthSizes(options.growth)) {
    const label = `${describeSize(size)}${repeat ? ' (again)' : ''}`
    const filling = performance.now()
    await fillToSize(launch.databaseUrl, size, options.serviceAccounts)
    const fill = size.ledgerRows > 0 ? await fillLedger(launch.databaseUrl, size.ledgerRows, maxTtlSeconds, say) : undefined
    await prepareRedis(launch.redisUrl, BENCH_REDIS_PREFIX)
    say(
      `growth: ${label}: filled in ${((performance.now() - filling) / 1000).toFixed(1)} s` +
        `${fill ? ` (${fill.bytesPerRow} bytes a ledger row, table and indexes)` : ''}; starting the service on it`,
    )
    // BENCH_CPU_PROF=1: one profile per size, so a size's hot spots can be set beside the smallest's.
    const cpuProfileDir = options.cpuProfile ? mkdtempSync(join(tmpdir(), 'seed-sts-bench-growth-profile-')) : undefined
    const started = performance.now()
    const service = launchService({ ...launch, cpuProfileDir })
    onLaunch(service)
    let step: GrowthStep
    try {
      step = { size, repeat, ...(await measureStep(service, started, workloads, options)) }
      if (fill) {
        say(`growth: ${label}: timing GET /v1/ledger, ${options.growth.ledgerQueries} requests a filter, and a cluster's revocation`)
        const timings = await measureLedgerTimings(service.baseUrl, launch.adminToken, fill, options.growth.ledgerQueries)
        step.ledger = { fill, timings }
      }
    } finally {
      const stopped = await service.stop()
      if (!stopped.clean) run.failures.push(`growth at ${label}: the service ${stopped.description}`)
    }
    const rate = step.measured.ok / step.measured.elapsedSeconds
    say(
      `growth: ${label}: first token ${step.firstTokenSeconds.toFixed(2)} s after start; ${Math.round(rate)} exchanges/s, p99 ${percentile(step.measured.latenciesMs, 99).toFixed(1)} ms`,
    )
    const profile = cpuProfileDir ? summariseCpuProfile(cpuProfileDir) : undefined
    if (profile) say(`growth: ${label}: ${formatProfile(profile)}`)
    run.steps.push(step)
    const refused = [...step.measured.otherStatuses.values(), ...step.measured.transportErrors.values()].reduce((a, b) => a + b, 0)
    if (refused > 0) {
      const sample = [...step.measured.sampleBodies].map(([status, body]) => `${status} ${body}`)[0] ?? 'no answer'
      run.failures.push(`growth at ${label}: ${refused} exchanges were not answered 200 (first: ${sample})`)
    }
    if (step.measured.ok === 0) run.failures.push(`growth at ${label}: no exchange succeeded in the measured window`)
  }
  return run
}

/** The service was started at `started` (performance.now()); the caller stops it. */
async function measureStep(
  service: RunningService,
  started: number,
  workloads: readonly BenchWorkload[],
  options: BenchOptions,
): Promise<Omit<GrowthStep, 'size' | 'repeat'>> {
  await waitUntilReady(service, 60_000, 10)
  const readySeconds = (performance.now() - started) / 1000
  await firstToken(service, workloads[0])
  const firstTokenSeconds = (performance.now() - started) / 1000
  const rssReadyBytes = residentBytes(service.pid)
  const target = exchangeTarget(service.baseUrl, workloads)
  const { connections } = options
  if (options.warmupSeconds > 0)
    await driveLoad(target, { connections, seconds: options.warmupSeconds, requestIdPrefix: 'bench-growth-warmup' })
  const before = cpuSnapshot()
  const measured = await driveLoad(target, { connections, seconds: options.seconds, requestIdPrefix: 'bench-growth' })
  const cpu = cpuSplit(before, cpuSnapshot(), service.pid, describeMachine().cores)
  return { measured, readySeconds, firstTokenSeconds, rssReadyBytes, rssAfterBytes: residentBytes(service.pid), cpu }
}

/**
 * Exchanges until the first 200: /readyz says the stores are reachable, not that the grants are
 * loaded, so the start-up figure ends at the first token issued.
 */
async function firstToken(service: RunningService, workload: BenchWorkload): Promise<void> {
  const deadline = performance.now() + 60_000
  let last = ''
  while (performance.now() < deadline) {
    const response = await fetch(`${service.baseUrl}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': 'bench-growth-first' },
      body: exchangeBody(workload.token),
    })
    const text = await response.text()
    if (response.status === 200) return
    last = `HTTP ${response.status}: ${text.slice(0, 300)}`
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error(`the service issued no token within 60 s of starting (last answer ${last})`)
}

export function describeSize(size: GrowthSize): string {
  const ledger = size.ledgerRows > 0 ? `, ${size.ledgerRows.toLocaleString('en-US')} ledger rows` : ''
  return `${size.grants.toLocaleString('en-US')} grants, ${size.standingRevocations.toLocaleString('en-US')} standing revocations${ledger}`
}
