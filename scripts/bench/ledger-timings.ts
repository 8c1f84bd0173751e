import { performance } from 'node:perf_hooks'
import { KeepAliveClient } from './keep-alive-client.js'
import { ledgerSearches, SEARCH_NAMES } from './ledger-queries.js'
import { BIG_CLUSTER, clusterGlob } from './ledger-rows.js'

/**
 * The incident queries on a filled ledger, through the running service's admin API, one request in
 * flight on a keep-alive connection (a responder's view, not a load test): each `GET /v1/ledger`
 * filter `requests` times, then the revocation of a whole cluster, timed from sending it to its 201,
 * and lifted again each time so the next round (and the next size) starts with nothing revoked.
 */

export interface SearchTiming {
  name: string
  ms: Float64Array
  /** Entries answered, on average: a filter that finds nothing would time nothing. */
  meanEntries: number
}

export interface ClusterRevocationTiming {
  /** The subject glob revoked. */
  value: string
  ms: Float64Array
  /** What the API reported cut off, each round (null when it could not count). */
  liveTokensCutOff: (number | null)[]
}

export interface LedgerTimings {
  searches: SearchTiming[]
  revocation: ClusterRevocationTiming
}

export const CLUSTER_REVOCATION_ROUNDS = 5

export async function measureLedgerTimings(
  baseUrl: string,
  adminToken: string,
  ledger: { rows: number; newestMs: number },
  requests: number,
): Promise<LedgerTimings> {
  const client = new KeepAliveClient(baseUrl, 30_000)
  const admin = { authorization: `Bearer ${adminToken}` }
  try {
    const ms = new Map<string, number[]>(SEARCH_NAMES.map((name) => [name, []]))
    const entries = new Map<string, number>(SEARCH_NAMES.map((name) => [name, 0]))
    // Filter after filter within each k, so drift over the run touches every filter alike.
    for (let k = 0; k < requests; k++) {
      for (const search of ledgerSearches(ledger.rows, ledger.newestMs, k)) {
        const sent = performance.now()
        const answer = await client.call('GET', `/v1/ledger?${search.query}`, admin, Buffer.alloc(0))
        if (answer.status !== 200)
          throw new Error(`GET /v1/ledger?${search.query} was answered HTTP ${answer.status}: ${answer.body.slice(0, 300)}`)
        ms.get(search.name)?.push(answer.at - sent)
        const found = (JSON.parse(answer.body) as { entries: unknown[] }).entries.length
        entries.set(search.name, (entries.get(search.name) ?? 0) + found)
      }
    }
    const searches = SEARCH_NAMES.map((name) => ({
      name,
      ms: Float64Array.from(ms.get(name) ?? []),
      meanEntries: (entries.get(name) ?? 0) / requests,
    }))
    return { searches, revocation: await revokeCluster(client, admin) }
  } finally {
    client.close()
  }
}

async function revokeCluster(client: KeepAliveClient, admin: Record<string, string>): Promise<ClusterRevocationTiming> {
  const value = clusterGlob(BIG_CLUSTER)
  const ms: number[] = []
  const liveTokensCutOff: (number | null)[] = []
  for (let round = 0; round < CLUSTER_REVOCATION_ROUNDS; round++) {
    const sent = performance.now()
    const revoked = await client.call(
      'POST',
      '/v1/revocations',
      admin,
      json({ kind: 'subject', value, reason: `npm run bench: a whole cluster revoked, round ${round}` }),
    )
    if (revoked.status !== 201)
      throw new Error(`the revocation of ${value} was answered HTTP ${revoked.status}: ${revoked.body.slice(0, 300)}`)
    ms.push(revoked.at - sent)
    const body = JSON.parse(revoked.body) as { revocation: { id: string }; liveTokensCutOff: number | null }
    liveTokensCutOff.push(body.liveTokensCutOff)
    const lifted = await client.call(
      'DELETE',
      `/v1/revocations/${body.revocation.id}`,
      admin,
      json({ reason: `npm run bench: round ${round} measured` }),
    )
    if (lifted.status !== 200)
      throw new Error(`lifting the revocation of ${value} was answered HTTP ${lifted.status}: ${lifted.body.slice(0, 300)}`)
  }
  return { value, ms: Float64Array.from(ms), liveTokensCutOff }
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value))
}
