import t from 'tap'
import { LedgerSearchQuery } from '../../../src/ledger/ledger-search.js'
import { partitionsOf } from '../../../scripts/bench/ledger-fill.js'
import { ledgerSearches } from '../../../scripts/bench/ledger-queries.js'
import { BIG_CLUSTER, firstRowAtOrAfter, FLEET_WORKLOADS, fleetWorkload, issuedMs } from '../../../scripts/bench/ledger-rows.js'
import { BENCH_CLUSTER_NAME } from '../../../scripts/bench/workloads.js'

/** The shape of the bench's ledger, without a database (ledger-fill.test.ts reads the real rows back). */

const MIDNIGHT = Date.UTC(2030, 0, 10)
const span = { total: 1_000_000, newestMs: MIDNIGHT + 1_000_000, maxTtlSeconds: 3600 }

t.test('rows are 3 ms apart, the last at the newest; cut at any instant, a row is on exactly one side', async (t) => {
  t.equal(issuedMs(span, span.total - 1), span.newestMs)
  t.equal(issuedMs(span, span.total - 2), span.newestMs - 3)
  t.equal(issuedMs(span, 0), span.newestMs - 3 * (span.total - 1))
  for (const instant of [MIDNIGHT, MIDNIGHT + 1, MIDNIGHT + 2, MIDNIGHT - 1, span.newestMs, issuedMs(span, 0)]) {
    const i = firstRowAtOrAfter(span, instant)
    t.ok(issuedMs(span, i) >= instant && issuedMs(span, i - 1) < instant, `the first row at or after ${instant} is ${i}`)
  }
  t.equal(firstRowAtOrAfter(span, span.newestMs + 1), span.total, 'none after the newest')
  t.equal(firstRowAtOrAfter(span, 0), 0, 'all after the epoch')
})

t.test('a day partition for each day the rows cover, oldest first', async (t) => {
  t.same(
    partitionsOf(span).map((p) => p.name),
    ['ledger_rows_d20300109', 'ledger_rows_d20300110'],
  )
  t.same(
    partitionsOf({ ...span, total: 1000 }).map((p) => p.name),
    ['ledger_rows_d20300110'],
  )
})

t.test('the fleet: 30 % of it in the cluster the bench revokes, none in the bench cluster', async (t) => {
  const clusters = new Map<string, number>()
  for (let w = 0; w < FLEET_WORKLOADS; w++) {
    const { cluster } = fleetWorkload(w)
    clusters.set(cluster, (clusters.get(cluster) ?? 0) + 1)
  }
  t.equal(clusters.get(BIG_CLUSTER), 30_000)
  t.equal(clusters.size, 10)
  t.notOk(clusters.has(BENCH_CLUSTER_NAME), 'revoking it never touches the workloads the load runs as')
  t.same(fleetWorkload(30_001), {
    cluster: 'staging-eu-1',
    namespace: 'team-1',
    serviceAccount: 'svc-30001',
    subject: 'spiffe://bench.example/k8s/staging-eu-1/ns/team-1/sa/svc-30001',
  })
})

t.test('every search the bench times is one the API accepts, and each request asks about something else', async (t) => {
  const refused: string[] = []
  for (let k = 0; k < 500; k++) {
    for (const search of ledgerSearches(span.total, span.newestMs, k)) {
      if (!LedgerSearchQuery.safeParse(Object.fromEntries(new URLSearchParams(search.query))).success)
        refused.push(`${search.name}: ${search.query}`)
    }
  }
  t.same(refused, [])
  const first = ledgerSearches(span.total, span.newestMs, 0)
  const second = ledgerSearches(span.total, span.newestMs, 1)
  const changed = first.filter((search, n) => search.query !== second[n].query).map((search) => search.name)
  t.same(
    changed,
    ['subject', 'subject glob', 'grant', 'source', 'audience', 'since/until', 'combined'],
    'live=true alone has nothing to vary',
  )
})
