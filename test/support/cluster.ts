import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'

export const CLUSTER_ISSUER = 'https://kubernetes.test.example'
export const STS_AUDIENCE = 'seed-sts-test'

export interface TestCluster {
  name: string
  issuer: string
  jwks: { keys: JWK[] }
  /** A projected service-account token as the kubelet would mount it. */
  serviceAccountToken(options?: ServiceAccountTokenOptions): Promise<string>
}

export interface ServiceAccountTokenOptions {
  namespace?: string
  serviceAccount?: string
  audience?: string | string[]
  issuedAt?: number
  lifetimeSeconds?: number
  pod?: { name: string; uid: string }
  node?: { name: string; uid: string }
}

/** A fake cluster with its own signing key: the outside world, faked with real cryptography. */
export async function createTestCluster(name = 'test', nowSeconds = Math.floor(Date.now() / 1000)): Promise<TestCluster> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const kid = `${name}-key-1`
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }
  return {
    name,
    issuer: CLUSTER_ISSUER,
    jwks: { keys: [jwk] },
    serviceAccountToken: (options = {}) => sign(privateKey, kid, nowSeconds, options),
  }
}

async function sign(key: CryptoKey, kid: string, nowSeconds: number, options: ServiceAccountTokenOptions): Promise<string> {
  const namespace = options.namespace ?? 'payments'
  const serviceAccount = options.serviceAccount ?? 'api'
  const iat = options.issuedAt ?? nowSeconds
  return new SignJWT({
    'kubernetes.io': {
      namespace,
      serviceaccount: { name: serviceAccount, uid: '3f1c2a4e-0000-4000-8000-000000000001' },
      pod: options.pod ?? { name: `${serviceAccount}-7d9f8b-x2x4q`, uid: '9a8b7c6d-0000-4000-8000-000000000002' },
      node: options.node ?? { name: 'node-a', uid: '1b2c3d4e-0000-4000-8000-000000000003' },
    },
  })
    .setProtectedHeader({ alg: 'ES256', kid })
    .setIssuer(CLUSTER_ISSUER)
    .setSubject(`system:serviceaccount:${namespace}:${serviceAccount}`)
    .setAudience(options.audience ?? STS_AUDIENCE)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(iat + (options.lifetimeSeconds ?? 3600))
    .sign(key)
}
