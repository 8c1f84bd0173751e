import { createHash, KeyObject, randomUUID } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'

/**
 * The one stand-in for a Kubernetes cluster, shared by the tests, the bench and the demo: the
 * service-account signing key kube-apiserver holds and the projected tokens the kubelet mounts into
 * pods. The outside world, faked with real cryptography, so the service verifies these tokens exactly
 * as it would a real cluster's.
 *
 * scripts/bench and scripts/demo import this file, so tsconfig.build.json compiles it into dist/ and
 * it runs where only production dependencies are installed: it may import node: modules and jose,
 * never tap or another test helper.
 */

export const CLUSTER_ISSUER = 'https://kubernetes.test.example'
export const STS_AUDIENCE = 'seed-sts-test'

export interface FakeClusterOptions {
  /** The attestor name the service knows it by (`k8s:<name>` in sources, `/k8s/<name>/` in SPIFFE IDs). */
  name?: string
  /** What kube-apiserver's `--service-account-issuer` would be set to. */
  issuer?: string
  /** ES256 by default (a key in a millisecond); RS256 is what kube-apiserver signs with unless told otherwise. */
  algorithm?: 'ES256' | 'RS256'
  /** "Now" for the tokens it mints, in seconds; the real clock by default. */
  now?: () => number
  /**
   * `fixed` (default): every token carries the same service-account, pod and node uids and no `jti`, so
   * tests can assert them. `unique`: new uids and a `jti` in every token, as pods of a real cluster get.
   */
  ids?: 'fixed' | 'unique'
}

export interface FakeCluster {
  name: string
  issuer: string
  /** What the cluster publishes at `<issuer>/openid/v1/jwks`. */
  jwks: { keys: JWK[] }
  /** A projected service-account token as the kubelet would mount it. */
  serviceAccountToken(options?: ServiceAccountTokenOptions): Promise<string>
}

export interface ServiceAccountTokenOptions {
  namespace?: string
  serviceAccount?: string
  /** The `audience` of the pod's serviceAccountToken volume; STS_AUDIENCE by default. */
  audience?: string | string[]
  issuedAt?: number
  /** `expirationSeconds` of the projected volume. */
  lifetimeSeconds?: number
  /** Without a uid, the cluster's (fixed or new, as its `ids` option says). */
  pod?: { name: string; uid?: string }
  node?: { name: string; uid?: string }
}

/** @example const cluster = await createFakeCluster({ name: 'demo', algorithm: 'RS256', ids: 'unique' }); await cluster.serviceAccountToken({ namespace: 'payments' }) */
export async function createFakeCluster(options: FakeClusterOptions = {}): Promise<FakeCluster> {
  const alg = options.algorithm ?? 'ES256'
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) })
  const kid = kubernetesKeyId(publicKey)
  const { kty, ...material } = await exportJWK(publicKey)
  const issuer = options.issuer ?? CLUSTER_ISSUER
  const minting: Minting = {
    key: privateKey,
    alg,
    kid,
    issuer,
    now: options.now ?? (() => Math.floor(Date.now() / 1000)),
    unique: options.ids === 'unique',
  }
  return {
    name: options.name ?? 'test',
    issuer,
    // In kube-apiserver's order: use, kty, kid, alg, then the key itself.
    jwks: { keys: [{ use: 'sig', kty, kid, alg, ...material }] },
    serviceAccountToken: (tokenOptions = {}) => mint(minting, tokenOptions),
  }
}

/** The tests' cluster: ES256, fixed ids, the test issuer, and its clock stopped at `nowSeconds`. */
export function createTestCluster(name = 'test', nowSeconds = Math.floor(Date.now() / 1000)): Promise<FakeCluster> {
  return createFakeCluster({ name, now: () => nowSeconds })
}

/** kube-apiserver names a key by the SHA-256 of its DER public key, base64url: the same here. */
function kubernetesKeyId(publicKey: CryptoKey): string {
  return createHash('sha256')
    .update(KeyObject.from(publicKey).export({ type: 'spki', format: 'der' }))
    .digest('base64url')
}

interface Minting {
  key: CryptoKey
  alg: string
  kid: string
  issuer: string
  now: () => number
  unique: boolean
}

const FIXED_UIDS = {
  serviceAccount: '3f1c2a4e-0000-4000-8000-000000000001',
  pod: '9a8b7c6d-0000-4000-8000-000000000002',
  node: '1b2c3d4e-0000-4000-8000-000000000003',
}

async function mint(minting: Minting, options: ServiceAccountTokenOptions): Promise<string> {
  const uid = (fixed: string): string => (minting.unique ? randomUUID() : fixed)
  const namespace = options.namespace ?? 'payments'
  const serviceAccount = options.serviceAccount ?? 'api'
  const pod = options.pod ?? { name: `${serviceAccount}-7d9f8b-x2x4q` }
  const node = options.node ?? { name: 'node-a' }
  const iat = options.issuedAt ?? minting.now()
  const token = new SignJWT({
    'kubernetes.io': {
      namespace,
      serviceaccount: { name: serviceAccount, uid: uid(FIXED_UIDS.serviceAccount) },
      pod: { name: pod.name, uid: pod.uid ?? uid(FIXED_UIDS.pod) },
      node: { name: node.name, uid: node.uid ?? uid(FIXED_UIDS.node) },
    },
  })
    .setProtectedHeader({ alg: minting.alg, kid: minting.kid })
    .setIssuer(minting.issuer)
    .setSubject(`system:serviceaccount:${namespace}:${serviceAccount}`)
    .setAudience(options.audience ?? STS_AUDIENCE)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + (options.lifetimeSeconds ?? 3600))
  if (minting.unique) token.setJti(randomUUID())
  return token.sign(minting.key)
}
