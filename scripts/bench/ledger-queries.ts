import {
  AUDIENCES,
  BIG_CLUSTER,
  BIG_CLUSTER_WORKLOADS,
  FLEET_WORKLOADS,
  fleetWorkload,
  grantIdOf,
  MS_PER_ROW,
  namespaceGlob,
  NODES,
  nodeSource,
  audienceNamed,
} from './ledger-rows.js'

/**
 * What an incident responder asks `GET /v1/ledger` of the filled ledger: each documented filter alone,
 * and one combination, every one naming something the fill put there. The `k`-th request of a filter
 * asks about another workload (or window) than the one before, so the figures are not those of one
 * value cached all the way down.
 */

export interface LedgerSearch {
  /** The filter, as the summary names it. */
  name: string
  /** GET /v1/ledger?this (limit 100, the default page). */
  query: string
}

export const SEARCH_NAMES = ['subject', 'subject glob', 'grant', 'source', 'audience', 'since/until', 'live=true', 'combined'] as const

/** The `k`-th request of each filter over a ledger of `rows` rows ending at `newestMs`. */
export function ledgerSearches(rows: number, newestMs: number, k: number): LedgerSearch[] {
  // Spread over the fleet by a stride prime to its size; the combined search asks about the big cluster.
  const w = (k * 7919) % FLEET_WORKLOADS
  const workload = fleetWorkload(w)
  const bigW = w % BIG_CLUSTER_WORKLOADS
  const big = fleetWorkload(bigW)
  const spanMs = rows * MS_PER_ROW
  // An hour of tokens, or a quarter of the ledger when it holds less, somewhere in it.
  const windowMs = Math.min(3_600_000, spanMs / 4)
  const until = newestMs - ((k % 10) / 10) * (spanMs - windowMs)
  const query = (params: Record<string, string>): string => new URLSearchParams(params).toString()
  const queries: Record<(typeof SEARCH_NAMES)[number], string> = {
    subject: query({ subject: workload.subject }),
    'subject glob': query({ subject: namespaceGlob(workload.cluster, workload.namespace) }),
    grant: query({ grant: grantIdOf(w) }),
    source: query({ source: nodeSource(workload.cluster, w % NODES) }),
    audience: query({ audience: audienceNamed(k % AUDIENCES) }),
    'since/until': query({ since: new Date(until - windowMs).toISOString(), until: new Date(until).toISOString() }),
    'live=true': query({ live: 'true' }),
    // The slow case (live tokens by subject glob), narrowed to a node: "what is live in namespace Y from node X",
    // a node that namespace has workloads on.
    combined: query({
      subject: namespaceGlob(BIG_CLUSTER, big.namespace),
      live: 'true',
      source: nodeSource(BIG_CLUSTER, bigW % NODES),
    }),
  }
  return SEARCH_NAMES.map((name) => ({ name, query: queries[name] }))
}
