import { createHash, createPublicKey, randomUUID, type JsonWebKey } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'

/**
 * A stand-in for a Kubernetes cluster: the service-account signing key kube-apiserver holds (RS256,
 * `--service-account-signing-key-file`) and the projected tokens the kubelet mounts into pods. Real
 * cryptography, so the service verifies these tokens exactly as it would a real cluster's.
 */

/** What kube-apiserver's `--service-account-issuer` would be set to. */
export const DEMO_CLUSTER_ISSUER = 'https://kubernetes.default.svc.cluster.local'

export interface DemoCluster {
  issuer: string
  /** What the cluster publishes at `<issuer>/openid/v1/jwks`. */
  jwks: { keys: JWK[] }
  serviceAccountToken(options: ServiceAccountTokenOptions): Promise<string>
}

export interface ServiceAccountTokenOptions {
  namespace: string
  serviceAccount: string
  /** The `audience` of the pod's serviceAccountToken volume: the STS's own audience. */
  audience: string
  /** `expirationSeconds` of the projected volume; the kubelet refreshes the token well before it ends. */
  lifetimeSeconds?: number
}

/** @example const cluster = await createDemoCluster(); const token = await cluster.serviceAccountToken({ namespace: 'payments', serviceAccount: 'api', audience: 'seed-sts' }) */
export async function createDemoCluster(): Promise<DemoCluster> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true })
  const jwk = await exportJWK(publicKey)
  const kid = kubernetesKeyId(jwk)
  return {
    issuer: DEMO_CLUSTER_ISSUER,
    jwks: { keys: [{ use: 'sig', kty: jwk.kty, kid, alg: 'RS256', n: jwk.n, e: jwk.e }] },
    serviceAccountToken: (options) => mint(privateKey, kid, options),
  }
}

/** kube-apiserver names a key by the SHA-256 of its DER public key, base64url: the same here. */
function kubernetesKeyId(jwk: JWK): string {
  const der = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'der' })
  return createHash('sha256').update(der).digest('base64url')
}

async function mint(key: CryptoKey, kid: string, options: ServiceAccountTokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const { namespace, serviceAccount } = options
  const pod = `${serviceAccount}-7d9f8b6c5-x2x4q`
  return new SignJWT({
    'kubernetes.io': {
      namespace,
      serviceaccount: { name: serviceAccount, uid: randomUUID() },
      pod: { name: pod, uid: randomUUID() },
      node: { name: 'node-a', uid: randomUUID() },
    },
  })
    .setProtectedHeader({ alg: 'RS256', kid })
    .setIssuer(DEMO_CLUSTER_ISSUER)
    .setSubject(`system:serviceaccount:${namespace}:${serviceAccount}`)
    .setAudience([options.audience])
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + (options.lifetimeSeconds ?? 3600))
    .setJti(randomUUID())
    .sign(key)
}
