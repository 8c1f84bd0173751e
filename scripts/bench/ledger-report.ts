import type { GrowthStep } from './growth.js'
import { percentile } from './load.js'
import { BIG_CLUSTER } from './ledger-rows.js'
import { CLUSTER_REVOCATION_ROUNDS } from './ledger-timings.js'
import { fixed, thousands } from './report.js'

/**
 * The ledger's rows of the growth summary: one column per ledger size, one row per figure, each judged
 * against the target (the exchange rate at each size is in the growth table above it).
 */

/** The ledger targets (issue 10, item 4), absolute at any size. */
export const LEDGER_TARGETS = {
  /** Exchanges/s at a ledger size against the empty ledger. */
  rate: 0.95,
  searchP99Ms: 50,
  clusterRevocationMs: 200,
  bytesPerRow: 400,
} as const

/** The ledger lines of the summary, or none when no ledger size was measured. */
export function formatLedgerGrowth(steps: readonly GrowthStep[]): string[] {
  const measured = steps.flatMap((step) => (step.ledger ? [{ rows: step.size.ledgerRows, ...step.ledger }] : []))
  if (measured.length === 0) return []
  const t = LEDGER_TARGETS
  const first = measured[0].timings
  const table: string[][] = [
    ['', ...measured.map((m) => `${thousands(m.rows)} rows`), 'target'],
    ['filled in (rows, indexes, VACUUM ANALYZE)', ...measured.map((m) => `${fixed(m.fill.seconds, 0)} s`), ''],
    [
      'bytes a row, table and indexes',
      ...measured.map((m) => `${thousands(m.fill.bytesPerRow)} ${verdict(m.fill.bytesPerRow <= t.bytesPerRow)}`),
      `<= ${t.bytesPerRow}`,
    ],
    ...first.searches.map((search, n) => [
      `GET /v1/ledger ${search.name}`,
      ...measured.map((m) => {
        const s = m.timings.searches[n]
        const p99 = percentile(s.ms, 99)
        return `${fixed(percentile(s.ms, 50), 1)} / ${fixed(p99, 1)} ms (${fixed(s.meanEntries, 0)}) ${verdict(p99 <= t.searchP99Ms)}`
      }),
      `p99 <= ${t.searchP99Ms} ms`,
    ]),
    [
      `POST /v1/revocations of ${BIG_CLUSTER}/**`,
      ...measured.map((m) => {
        const { ms, liveTokensCutOff } = m.timings.revocation
        const max = percentile(ms, 100)
        const counted = liveTokensCutOff[0]
        const live = counted === null || counted === undefined ? 'live tokens not counted' : `${thousands(counted)} live`
        return `${fixed(percentile(ms, 50), 0)} / ${fixed(max, 0)} ms (${live}) ${verdict(max <= t.clusterRevocationMs)}`
      }),
      `<= ${t.clusterRevocationMs} ms`,
    ],
  ]
  const widths = table[0].map((_, column) => Math.max(...table.map((row) => row[column].length)))
  const line = (cells: string[]): string => `          ${cells.map((cell, column) => cell.padEnd(widths[column])).join('   ')}`.trimEnd()
  return [
    `ledger    at each ledger size, after its exchanges, one request at a time through the admin API: GET /v1/ledger ` +
      `p50 / p99 over ${first.searches[0]?.ms.length ?? 0} requests a filter (a page of 100 at most; mean entries answered in brackets), ` +
      `then ${CLUSTER_REVOCATION_ROUNDS} revocations of a whole cluster, each lifted after (p50 / max, live tokens it cut off)`,
    ...table.map(line),
  ]
}

function verdict(met: boolean): string {
  return met ? 'met' : 'MISSED'
}
