import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import { createFakeCluster, type FakeCluster } from '../../test/support/cluster.js'

/**
 * The bench's workloads: the fake cluster the tests use, signing as kube-apiserver does unless told
 * otherwise (RS256), with a projected token per workload. Real cryptography, so the service does
 * exactly the work a real cluster's tokens cost.
 */

export const BENCH_CLUSTER_NAME = 'bench'
export const BENCH_CLUSTER_ISSUER = 'https://kubernetes.bench.example'

export interface BenchWorkload {
  namespace: string
  serviceAccount: string
  /** The workload's projected service-account token. */
  token: string
}

/** New uids and a jti in every token, as the pods of a real cluster have. */
export function createBenchCluster(): Promise<FakeCluster> {
  return createFakeCluster({ name: BENCH_CLUSTER_NAME, issuer: BENCH_CLUSTER_ISSUER, algorithm: 'RS256', ids: 'unique' })
}

/** The cluster's public key, to time a bare signature check beside a whole exchange. */
export function publicKeyOf(cluster: FakeCluster): KeyObject {
  return createPublicKey({ key: cluster.jwks.keys[0] as JsonWebKey, format: 'jwk' })
}

/** The i-th workload's namespace and service account: 50 namespaces, `workload-0000` onwards. */
export function workloadNamed(i: number): { namespace: string; serviceAccount: string } {
  return { namespace: `team-${String(i % 50).padStart(2, '0')}`, serviceAccount: `workload-${String(i).padStart(4, '0')}` }
}

/**
 * One projected token per workload, spread over 50 namespaces and 20 nodes, each pod with its own
 * uid: as many distinct attestations (and ledger subjects) as a mid-sized cluster has.
 */
export async function mintWorkloadTokens(cluster: FakeCluster, count: number, audience: string): Promise<BenchWorkload[]> {
  const workloads: BenchWorkload[] = []
  for (let i = 0; i < count; i++) {
    const { namespace, serviceAccount } = workloadNamed(i)
    const token = await cluster.serviceAccountToken({
      namespace,
      serviceAccount,
      audience,
      pod: { name: `${serviceAccount}-7d9f8b6c5-x2x4q` },
      node: { name: `node-${String(i % 20).padStart(2, '0')}` },
    })
    workloads.push({ namespace, serviceAccount, token })
  }
  return workloads
}
