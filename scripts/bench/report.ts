import type { LedgerCheck } from './backends.js'
import type { Rate, RawCryptoRates } from './ceiling.js'
import { percentile, type LoadResult } from './load.js'
import type { GlobCase } from './globs.js'
import type { CpuSplit, Machine } from './machine.js'
import type { BenchOptions } from './options.js'
import type { ProfileSummary } from './profile.js'
import type { GrantPropagation } from './grant-propagation.js'
import type { RevocationReach } from './revocation.js'
import type { VerifierRates } from './verifier.js'

/** Other programs using more than this (% of one core) make a run's figures unrepresentative. */
const NOISE_PERCENT = 20

/** The figures of one run, and the block printed at the end to be pasted into the README. */
export interface BenchFigures {
  date: Date
  machine: Machine
  redisVersion: string
  options: BenchOptions
  measured: LoadResult
  /** The `dpop` line (bench/dpop-load.ts), absent with BENCH_DPOP=0. */
  dpop?: string
  ceiling: Rate
  rawCrypto: RawCryptoRates
  /** A resource server's side: @seed-sts/client's verify() beside node:crypto's ES256 verify. */
  verifier?: VerifierRates
  ledger: LedgerCheck
  cpu?: CpuSplit
  /** How busy the machine was just before the bench started, in % of one core. */
  busyBefore?: number
  profile?: ProfileSummary
  /** Absent when BENCH_REVOCATIONS=0. */
  revocation?: RevocationReach
  /** Absent when BENCH_REVOCATIONS=0 or BENCH_GRANT_ROUNDS=0. */
  grants?: GrantPropagation
  globs?: GlobCase[]
}

export function exchangesPerSecond(result: LoadResult): number {
  return result.ok / result.elapsedSeconds
}

export function formatSummary(f: BenchFigures): string {
  const m = f.measured
  const rate = exchangesPerSecond(m)
  const nonOk = [...m.otherStatuses].map(([status, count]) => `${count} x ${status}`).join(', ') || '0'
  const noAnswer = [...m.transportErrors].map(([code, count]) => `${count} x ${code}`).join(', ') || '0'
  const lines = [
    `Seed STS benchmark (npm run bench, ${f.date.toISOString().slice(0, 10)})`,
    `machine   ${f.machine.cpuModel}, ${f.machine.cores} cores, Node ${f.machine.node}, ${f.machine.os}; PostgreSQL ${f.ledger.postgresVersion} and Redis ${f.redisVersion} on the same machine`,
    `workload  ${f.options.serviceAccounts} service accounts, each exchanging its own RS256 projected token for an ES256 access token; ledger on Postgres, revocations from Redis (checked in memory)`,
    `load      ${f.options.connections} keep-alive connections for ${fixed(m.elapsedSeconds, 1)} s after a ${f.options.warmupSeconds} s warm-up; the load generator runs on the same machine`,
    `service   ${f.options.workers} worker process${f.options.workers === 1 ? '' : 'es'}: ${thousands(rate)} exchanges/s   p50 ${fixed(percentile(m.latenciesMs, 50), 1)} ms   p99 ${fixed(percentile(m.latenciesMs, 99), 1)} ms   ` +
      `(${thousands(m.ok)} answers 200; non-200: ${nonOk}; no answer: ${noAnswer}; metrics ${f.options.metrics ? 'on' : 'off'})`,
    ...(f.dpop === undefined ? [] : [f.dpop]),
    `ceiling   ${thousands(f.ceiling.perSecond)} attest+sign/s with the service's own code in one process on one core, no I/O: the service reaches ${fixed((100 * rate) / f.ceiling.perSecond, 0)} % of it`,
    `crypto    node:crypto on one core: RS256 verify ${thousands(f.rawCrypto.rs256Verify.perSecond)}/s, ES256 sign ${thousands(f.rawCrypto.es256Sign.perSecond)}/s`,
    ...(f.verifier ? [`verifier  ${formatVerifier(f.verifier)}`] : []),
    `ledger    ${thousands(f.ledger.rows)} rows for ${thousands(f.ledger.answered200)} answers 200 (${thousands(f.ledger.matched)} matched by request id): ` +
      (f.ledger.ok ? 'every issued token is on the ledger, and nothing else' : 'MISMATCH'),
    `cpu       ${formatCpu(f.cpu)}`,
  ]
  if (f.cpu !== undefined && m.ok > 0) lines.push(`cost      ${formatCostPerExchange(f.cpu, m)}`)
  if (f.revocation !== undefined) lines.push(`revocation  ${formatRevocationReach(f.revocation)}`)
  if (f.grants !== undefined) lines.push(`grants    ${formatGrantPropagation(f.grants)}`)
  for (const glob of f.globs ?? []) {
    lines.push(
      `globs     ${glob.name}: ${fixed(glob.microsPerMatch, 1)} µs a match; a value 10x longer takes ${fixed(glob.growthAtTenTimes, 1)}x the time (linear: about 10)`,
    )
  }
  if (f.busyBefore !== undefined && f.cpu !== undefined) {
    // Other programs take CPU from the service, Postgres and the load generator alike: say so.
    const quiet = f.busyBefore < NOISE_PERCENT && f.cpu.other < NOISE_PERCENT
    lines.push(
      `noise     ${quiet ? 'quiet' : 'OTHER LOAD, the figures above are low'}: the machine was ${fixed(f.busyBefore, 0)} % of a core busy before the bench, ` +
        `other programs took ${fixed(f.cpu.other, 0)} % during it`,
    )
  }
  return lines.join('\n')
}

/** A resource server's cost per request, and how much of it is the signature. */
export function formatVerifier(v: VerifierRates): string {
  return (
    `${thousands(v.verifier.perSecond)} verifications/s with @seed-sts/client on one core (ES256, ${thousands(v.held)} revocations held), ` +
    `${fixed((100 * v.verifier.perSecond) / v.es256Verify.perSecond, 0)} % of node:crypto's ES256 verify alone (${thousands(v.es256Verify.perSecond)}/s)`
  )
}

/** The issue's figure: from the API's answer on one instance to the first refusal on the other. */
export function formatRevocationReach(r: RevocationReach): string {
  const ms = (p: number) => fixed(percentile(r.reachMs, p), 1)
  return (
    `reaches the other instance in p50 ${ms(50)} ms, p99 ${ms(99)} ms (max ${ms(100)} ms) over ${thousands(r.rounds)} revocations; ` +
    `tokens issued after the API answered: ${thousands(r.issuedAfterAnswer)}` +
    (r.issuedAfterAnswer > 0 ? ` (in ${thousands(r.roundsIssuedAfterAnswer)} rounds)` : '') +
    // Refused at the first poll: the figure is one exchange's round trip on the other instance, an upper bound.
    `; refused at the first exchange after the answer in ${thousands(r.refusedAtFirstPoll)} of ${thousands(r.rounds)}` +
    // The price of that promise: the API answers once every live instance has acknowledged the change.
    `; POST /v1/revocations answered in p50 ${fixed(percentile(r.apiMs, 50), 1)} ms, p99 ${fixed(percentile(r.apiMs, 99), 1)} ms`
  )
}

/** The issue's figure (target p99 <= 100 ms): from A's answer to a grant change to B deciding by it. */
export function formatGrantPropagation(g: GrantPropagation): string {
  const all = Float64Array.from([...g.createMs, ...g.disableMs])
  const ms = (values: Float64Array, p: number) => fixed(percentile(values, p), 1)
  return (
    `a change reaches the other instance in p50 ${ms(all, 50)} ms, p99 ${ms(all, 99)} ms (max ${ms(all, 100)} ms) over ` +
    `${thousands(all.length)} changes (created: p99 ${ms(g.createMs, 99)} ms; disabled: p99 ${ms(g.disableMs, 99)} ms); ` +
    `followed at the first exchange after the answer in ${thousands(g.followedAtFirstPoll)} of ${thousands(all.length)}`
  )
}

export function formatProfile(profile: ProfileSummary): string {
  const rows = (shares: ProfileSummary['functions']): string[] => shares.map((s) => `  ${fixed(s.percent, 1).padStart(5)} %  ${s.name}`)
  return [
    `CPU profile of the service (${profile.file}); busy ${fixed(profile.busyPercent, 0)} % of the profiled time. Shares of busy time:`,
    'by area:',
    ...rows(profile.areas),
    'by function (self time):',
    ...rows(profile.functions),
  ].join('\n')
}

function formatCpu(cpu: CpuSplit | undefined): string {
  if (cpu === undefined) return 'no /proc here: no CPU split'
  const others = cpu.otherTop.map((o) => `${o.command} ${fixed(o.percent, 0)}`).join(', ')
  return (
    `in % of one core: service ${fixed(cpu.service, 0)}, Postgres ${fixed(cpu.postgres, 0)}, Redis ${fixed(cpu.redis, 0)}, ` +
    `load generator ${fixed(cpu.client, 0)}, other ${fixed(cpu.other, 0)}${others ? ` (${others})` : ''}; machine busy ${fixed(cpu.machine, 0)} of ${cpu.cores * 100}`
  )
}

/**
 * CPU time spent per answered exchange. Other load on a shared machine takes the service's turns on a
 * core and so lowers its rate, but barely changes the work each exchange costs: compare two commits on this.
 */
function formatCostPerExchange(cpu: CpuSplit, m: LoadResult): string {
  const micros = (percent: number): string => fixed(((percent / 100) * m.elapsedSeconds * 1e6) / m.ok, 0)
  return `CPU per exchange: service ${micros(cpu.service)} µs, Postgres ${micros(cpu.postgres)} µs, Redis ${micros(cpu.redis)} µs, load generator ${micros(cpu.client)} µs`
}

export function thousands(value: number): string {
  return Math.round(value).toLocaleString('en-US')
}

export function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a'
}
