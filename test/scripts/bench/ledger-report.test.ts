import t from 'tap'
import type { GrowthStep } from '../../../scripts/bench/growth.js'
import { formatLedgerGrowth } from '../../../scripts/bench/ledger-report.js'
import type { LedgerTimings } from '../../../scripts/bench/ledger-timings.js'

/** The ledger's rows of the growth summary: a column per ledger size, each figure judged against issue 10's targets. */

const timings = (searchMs: number[], revocationMs: number[], liveTokensCutOff: number | null): LedgerTimings => ({
  searches: [
    { name: 'subject', ms: Float64Array.from(searchMs), meanEntries: 12.4 },
    { name: 'live=true', ms: Float64Array.from(searchMs.map((ms) => ms / 2)), meanEntries: 100 },
  ],
  revocation: {
    value: 'spiffe://bench.example/k8s/prod-eu-1/**',
    ms: Float64Array.from(revocationMs),
    liveTokensCutOff: [liveTokensCutOff],
  },
})

const step = (ledgerRows: number, ledger?: GrowthStep['ledger']): GrowthStep =>
  ({ size: { grants: 10, standingRevocations: 0, ledgerRows }, repeat: false, ...(ledger ? { ledger } : {}) }) as GrowthStep

t.test('a column per ledger size; met at the targets exactly, MISSED just past them', async (t) => {
  const lines = formatLedgerGrowth([
    step(0),
    step(1_000_000, {
      fill: { rows: 1_000_000, bytesPerRow: 400, newestMs: 0, seconds: 31.4 },
      timings: timings([1, 2, 3, 50], [120, 200], 300_000),
    }),
    step(10_000_000, {
      fill: { rows: 10_000_000, bytesPerRow: 401, newestMs: 0, seconds: 288.6 },
      timings: timings([1, 2, 3, 50.1], [120, 200.5], null),
    }),
    step(0),
  ])
  t.same(lines, [
    'ledger    at each ledger size, after its exchanges, one request at a time through the admin API: GET /v1/ledger p50 / p99 over 4 requests a filter ' +
      '(a page of 100 at most; mean entries answered in brackets), then 5 revocations of a whole cluster, each lifted after (p50 / max, live tokens it cut off)',
    '                                                      1,000,000 rows                    10,000,000 rows                                 target',
    '          filled in (rows, indexes, VACUUM ANALYZE)   31 s                              289 s',
    '          bytes a row, table and indexes              400 met                           401 MISSED                                      <= 400',
    '          GET /v1/ledger subject                      2.0 / 50.0 ms (12) met            2.0 / 50.1 ms (12) MISSED                       p99 <= 50 ms',
    '          GET /v1/ledger live=true                    1.0 / 25.0 ms (100) met           1.0 / 25.1 ms (100) met                         p99 <= 50 ms',
    '          POST /v1/revocations of prod-eu-1/**        120 / 200 ms (300,000 live) met   120 / 201 ms (live tokens not counted) MISSED   <= 200 ms',
  ])
})

t.test('no ledger size, no ledger lines', async (t) => {
  t.same(formatLedgerGrowth([step(0), step(0)]), [])
})
