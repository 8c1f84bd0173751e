import { createHash, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto'
import { SignJWT, type JWK } from 'jose'

/**
 * The bench's stand-in for a Kubernetes cluster: an RS256 service-account signing key (what
 * kube-apiserver uses unless told otherwise) and the projected tokens the kubelet would mount, one
 * per workload. Real cryptography, so the service does exactly the work a real cluster's tokens cost.
 */

export const BENCH_CLUSTER_NAME = 'bench'
export const BENCH_CLUSTER_ISSUER = 'https://kubernetes.bench.example'

export interface BenchCluster {
  issuer: string
  /** What the cluster publishes at `<issuer>/openid/v1/jwks`; given to the attestor inline. */
  jwks: { keys: JWK[] }
  publicKey: KeyObject
}

export interface BenchWorkload {
  namespace: string
  serviceAccount: string
  /** The workload's projected service-account token. */
  token: string
}

interface ClusterWithKey extends BenchCluster {
  privateKey: KeyObject
  kid: string
}

export function createBenchCluster(): ClusterWithKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const { n, e } = publicKey.export({ format: 'jwk' })
  // kube-apiserver names a key by the SHA-256 of its DER public key, base64url.
  const kid = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url')
  return {
    issuer: BENCH_CLUSTER_ISSUER,
    jwks: { keys: [{ kty: 'RSA', use: 'sig', alg: 'RS256', kid, n, e }] },
    publicKey,
    privateKey,
    kid,
  }
}

/**
 * One projected token per workload, spread over 50 namespaces and 20 nodes, each pod with its own
 * uid: as many distinct attestations (and ledger subjects) as a mid-sized cluster has.
 */
export async function mintWorkloadTokens(cluster: ClusterWithKey, count: number, audience: string): Promise<BenchWorkload[]> {
  const now = Math.floor(Date.now() / 1000)
  const workloads: BenchWorkload[] = []
  for (let i = 0; i < count; i++) {
    const namespace = `team-${String(i % 50).padStart(2, '0')}`
    const serviceAccount = `workload-${String(i).padStart(4, '0')}`
    const token = await new SignJWT({
      'kubernetes.io': {
        namespace,
        serviceaccount: { name: serviceAccount, uid: randomUUID() },
        pod: { name: `${serviceAccount}-7d9f8b6c5-x2x4q`, uid: randomUUID() },
        node: { name: `node-${String(i % 20).padStart(2, '0')}`, uid: randomUUID() },
      },
    })
      .setProtectedHeader({ alg: 'RS256', kid: cluster.kid })
      .setIssuer(cluster.issuer)
      .setSubject(`system:serviceaccount:${namespace}:${serviceAccount}`)
      .setAudience(audience)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 3600)
      .setJti(randomUUID())
      .sign(cluster.privateKey)
    workloads.push({ namespace, serviceAccount, token })
  }
  return workloads
}
