import { BENCH_TRUST_DOMAIN } from './requests.js'
import { BENCH_CLUSTER_NAME, workloadNamed } from './workloads.js'

/**
 * The rows the growth part fills Postgres with, shaped like a platform team's: a grant per service
 * per environment (mostly literal SPIFFE IDs, some namespace or name-prefix globs, some with
 * conditions), and standing revocations of retired namespaces, service accounts, pods and nodes.
 * Pure and deterministic: the i-th row is always the same, so a size is the same table every run.
 *
 * None of them changes what the bench's own workloads get: each exchange is still decided by
 * BENCH_GRANT alone, and no standing revocation matches a workload (test/scripts/bench/growth-rows.test.ts
 * checks both against the glob matcher), so the token and ledger row are the same at every size and
 * only the size of what the service must look through changes.
 */

export interface FillerGrant {
  subject: string
  conditions: Record<string, string | string[]>
  audiences: string[]
  scopes: string[]
  maxTtlSeconds: number
  owner: string
  description: string
}

export interface StandingRevocation {
  kind: 'subject' | 'source'
  value: string
  reason: string
}

/** The other clusters of the organisation, one per environment and region. */
export const ENVIRONMENTS = [
  'prod-eu-1',
  'prod-eu-2',
  'prod-us-1',
  'prod-us-2',
  'prod-ap-1',
  'staging-eu-1',
  'staging-us-1',
  'dev-eu-1',
  'dev-us-1',
  'qa-1',
] as const

/** One grant in this many is for a workload of the bench cluster itself (for another service's audience). */
const BENCH_CLUSTER_SHARE = 20

const td = `spiffe://${BENCH_TRUST_DOMAIN}`

/**
 * The i-th filler grant. Most are other clusters' (the i-th service's grant in environment i mod 10);
 * one in twenty is a bench workload's grant to call another service, or a namespace glob of the bench
 * cluster with a condition: those share the index buckets of the bench's exchanges, so an exchange
 * has candidates to look at and reject, as it would in a real organisation.
 */
export function fillerGrant(i: number, serviceAccounts: number): FillerGrant {
  if (i % BENCH_CLUSTER_SHARE === 0) return benchClusterGrant(i / BENCH_CLUSTER_SHARE, serviceAccounts)
  const environment = ENVIRONMENTS[i % ENVIRONMENTS.length]
  const service = Math.floor(i / ENVIRONMENTS.length)
  const name = `svc-${service}`
  const team = `team-${service % 200}`
  const base = `${td}/k8s/${environment}`
  const grant = (subject: string, conditions: FillerGrant['conditions'] = {}): FillerGrant => ({
    subject,
    conditions,
    audiences: [`svc-${(service * 7919) % 100_003}-api`],
    scopes: service % 3 === 0 ? ['read', 'write'] : ['read'],
    maxTtlSeconds: service % 2 === 0 ? 600 : 3600,
    owner: team,
    description: `${name} in ${environment} (npm run bench growth filler #${i})`,
  })
  const shape = service % 100
  if (shape === 99) return grant(`${base}/ns/${team}/**`, { namespace: team })
  if (shape % 10 < 6) return grant(`${base}/ns/${team}/sa/${name}`)
  if (shape % 10 < 8) return grant(`${base}/ns/${name}/sa/*`)
  if (shape % 10 === 8) return grant(`${base}/ns/${team}/sa/${name}-*`)
  return grant(`${base}/ns/${team}/sa/${name}`, { podName: `${name}-*`, nodeName: [`${environment}-node-a`, `${environment}-node-b`] })
}

function benchClusterGrant(k: number, serviceAccounts: number): FillerGrant {
  const base = `${td}/k8s/${BENCH_CLUSTER_NAME}`
  const description = `bench cluster grant #${k} (npm run bench growth filler)`
  if (k % 4 === 3) {
    const { namespace } = workloadNamed(k)
    return {
      subject: `${base}/ns/${namespace}/sa/*`,
      conditions: { podName: `batch-${k}-*` },
      audiences: [`batch-${k}-api`],
      scopes: ['submit'],
      maxTtlSeconds: 900,
      owner: namespace,
      description,
    }
  }
  // A workload's grant to call a peer: the k-th round over the workloads calls the k-th peer.
  const { namespace, serviceAccount } = workloadNamed(k % serviceAccounts)
  return {
    subject: `${base}/ns/${namespace}/sa/${serviceAccount}`,
    conditions: {},
    audiences: [`peer-${Math.floor(k / serviceAccounts)}-api`],
    scopes: ['read'],
    maxTtlSeconds: 600,
    owner: namespace,
    description,
  }
}

/**
 * The i-th standing revocation: even ones revoke subjects (globs of retired namespaces and
 * service-account prefixes, some in the bench cluster's own namespaces, and literal IDs), odd ones
 * sources (retired pods and nodes); none names anything a bench workload is or runs on.
 */
export function standingRevocation(i: number): StandingRevocation {
  const j = Math.floor(i / 2)
  const environment = ENVIRONMENTS[j % ENVIRONMENTS.length]
  const reason = `npm run bench: standing revocation #${i}`
  if (i % 2 === 0) {
    const namespace = workloadNamed(j).namespace
    const values = [
      `${td}/k8s/${environment}/ns/retired-${j}/**`,
      `${td}/k8s/${BENCH_CLUSTER_NAME}/ns/${namespace}/sa/legacy-${j}-*`,
      `${td}/k8s/${BENCH_CLUSTER_NAME}/ns/${namespace}/sa/former-${j}`,
      `${td}/k8s/${environment}/ns/svc-${j}/sa/*`,
    ]
    return { kind: 'subject', value: values[j % values.length], reason }
  }
  const values = [
    `k8s:${BENCH_CLUSTER_NAME}:pod:${podUidOf(j)}`,
    `k8s:${BENCH_CLUSTER_NAME}:node:retired-node-${j}`,
    `k8s:${environment}:node:${environment}-node-${j}`,
  ]
  return { kind: 'source', value: values[j % values.length], reason }
}

/**
 * A pod uid of a pod long gone: UUID-shaped, derived from j so the table is the same every run. The
 * bench's own pods have random uids (version 4); these have version nibble 0, so they can never be one.
 */
function podUidOf(j: number): string {
  const hex = j.toString(16).padStart(12, '0')
  return `00000000-0000-0000-8000-${hex}`
}
