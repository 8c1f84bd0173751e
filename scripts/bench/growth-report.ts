import type { GrowthRun, GrowthStep } from './growth.js'
import { percentile } from './load.js'
import { formatLedgerGrowth, LEDGER_TARGETS } from './ledger-report.js'
import type { Machine } from './machine.js'
import { fixed, thousands } from './report.js'

/**
 * The growth table: one row per size, each beside the first (the smallest), with the issue's targets
 * judged where they apply. Printed inside the summary's code block, so plain aligned columns.
 */

/** The issue's targets (issue 10), judged against the smallest size measured in the same run. */
export const GROWTH_TARGETS = {
  grantsRate: 0.8,
  grantsP99: 1.5,
  grantsFirstTokenSeconds: 3,
  revocationsRate: 0.9,
} as const

export function formatGrowth(run: GrowthRun): string {
  const base = run.steps[0]
  const baseRate = rateOf(base)
  const baseP99 = p99Of(base)
  const baseCost = serviceMicrosPerExchange(base)
  const header = [
    'grants',
    'standing revocations',
    'ledger rows',
    'exchanges/s',
    'p99 ms',
    'service CPU/exchange',
    'others CPU',
    'ready / first token',
    'RSS ready / after',
    'targets',
  ]
  const rows = run.steps.map((step) => {
    const rate = rateOf(step)
    const p99 = p99Of(step)
    const cost = serviceMicrosPerExchange(step)
    const beside = step !== base
    return [
      thousands(step.size.grants),
      thousands(step.size.standingRevocations),
      `${thousands(step.size.ledgerRows)}${step.repeat ? ' (again)' : ''}`,
      `${thousands(rate)}${beside ? ` (${ratio(rate / baseRate)})` : ''}`,
      `${fixed(p99, 1)}${beside ? ` (${ratio(p99 / baseP99)})` : ''}`,
      cost === undefined ? 'n/a' : `${fixed(cost, 0)} µs${beside && baseCost !== undefined ? ` (${ratio(cost / baseCost)})` : ''}`,
      step.cpu === undefined ? 'n/a' : `${fixed(step.cpu.other, 0)} %`,
      `${fixed(step.readySeconds, 2)} / ${fixed(step.firstTokenSeconds, 2)} s`,
      `${megabytes(step.rssReadyBytes)} / ${megabytes(step.rssAfterBytes)} MB`,
      beside ? judge(step, rate / baseRate, p99 / baseP99) : 'the smallest',
    ]
  })
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column].length)))
  const line = (cells: string[]): string => `          ${cells.map((cell, column) => cell.padEnd(widths[column])).join('   ')}`.trimEnd()
  const t = GROWTH_TARGETS
  return [
    `growth    the same load at each size beside the smallest (${run.connections} connections, ${run.seconds} s after a ${run.warmupSeconds} s warm-up each); ` +
      'each size filled straight in Postgres and a fresh service started on it, timed to /readyz and to its first token',
    line(header),
    ...rows.map(line),
    `          targets (issue 10): grants: rate >= ${t.grantsRate}x, p99 <= ${t.grantsP99}x, first token <= ${t.grantsFirstTokenSeconds} s; ` +
      `standing revocations: rate >= ${t.revocationsRate}x; ledger rows: rate >= ${LEDGER_TARGETS.rate}x; "(again)" is the smallest measured last: its ratio is the run's drift; ` +
      '"others CPU" is what other programs took during the window, in % of one core (above 20, the rate and p99 of that row are low)',
    ...formatLedgerGrowth(run.steps),
  ].join('\n')
}

/** The summary's first lines when the growth part ran alone (BENCH_GROWTH_ONLY=1). */
export function formatGrowthOnlyHeader(
  date: Date,
  machine: Machine,
  versions: { postgres: string; redis: string },
  serviceAccounts: number,
): string {
  return [
    `Seed STS benchmark (npm run bench, growth part only, ${date.toISOString().slice(0, 10)})`,
    `machine   ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${machine.os}; PostgreSQL ${versions.postgres} and Redis ${versions.redis} on the same machine`,
    `workload  ${serviceAccounts} service accounts, each exchanging its own RS256 projected token for an ES256 access token`,
  ].join('\n')
}

/** The targets for what this step changed: grants, standing revocations or ledger rows. The repeat has none. */
export function judge(step: GrowthStep, rateRatio: number, p99Ratio: number): string {
  if (step.repeat) return 'drift'
  const t = GROWTH_TARGETS
  const missed =
    step.size.standingRevocations > 0
      ? [rateRatio < t.revocationsRate ? 'rate' : undefined]
      : step.size.ledgerRows > 0
        ? [rateRatio < LEDGER_TARGETS.rate ? 'rate' : undefined]
        : [
            rateRatio < t.grantsRate ? 'rate' : undefined,
            p99Ratio > t.grantsP99 ? 'p99' : undefined,
            step.firstTokenSeconds > t.grantsFirstTokenSeconds ? 'start-up' : undefined,
          ]
  const names = missed.filter((name) => name !== undefined)
  return names.length === 0 ? 'met' : `MISSED: ${names.join(', ')}`
}

/**
 * The service's CPU time per answered exchange: other programs on a shared machine take the service's
 * turns on a core and so lower its rate, but barely change this (see the cost line of the main part).
 */
function serviceMicrosPerExchange(step: GrowthStep): number | undefined {
  const { cpu, measured } = step
  if (cpu === undefined || measured.ok === 0) return undefined
  return ((cpu.service / 100) * measured.elapsedSeconds * 1e6) / measured.ok
}

function rateOf(step: GrowthStep): number {
  return step.measured.ok / step.measured.elapsedSeconds
}

function p99Of(step: GrowthStep): number {
  return percentile(step.measured.latenciesMs, 99)
}

function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}x` : 'n/a'
}

function megabytes(bytes: number | undefined): string {
  return bytes === undefined ? 'n/a' : (bytes / 1024 / 1024).toFixed(0)
}
