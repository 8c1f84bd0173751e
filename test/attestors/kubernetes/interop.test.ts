import { createPublicKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import t from 'tap'
import type { AttestorDeps } from '../../../src/attestors/attestor.js'
import { createKubernetesAttestor } from '../../../src/attestors/kubernetes/attestor.js'
import { FixedClock } from '../../../src/lib/clock.js'
import { assertRefused, countingFetcher, kubernetesConfig, tamper } from '../../support/attestors/jwt-attestations.js'
import { interopDir } from '../../support/interop.js'

/**
 * Real service-account tokens from public repositories (see test/fixtures/interop/README.md, section 3).
 * They must be accepted as of their own time: an attestor that only accepts tokens we minted ourselves
 * proves nothing about Kubernetes.
 */

const interop = interopDir('k8s-sat')
const read = (name: string): string => readFileSync(`${interop}${name}`, 'utf8').trim()
const readJson = (name: string): unknown => JSON.parse(read(name))

const projected2030 = read('vault-minikube-projected-exp2030.jwt')
const expired2020 = read('vault-minikube-projected-expired-2020.jwt')
const legacy = read('vault-minikube-legacy-secret-token.jwt')
const eks = read('eks-hakawai-2025.jwt')
const minikubeJwks = readJson('keys/minikube-sa.DERIVED-jwks.json')

const MINIKUBE_ISSUER = 'kubernetes/serviceaccount'
const EKS_ISSUER = 'https://oidc.eks.eu-west-1.amazonaws.com/id/B88E7287E54DB073AC9CDC2FD1BE0969'
const ELEVEN_YEARS = 11 * 365 * 86_400

function asOf(seconds: number): FixedClock {
  return new FixedClock(seconds * 1000)
}

function deps(clock: FixedClock, overrides: Partial<AttestorDeps> = {}): AttestorDeps {
  return {
    trustDomain: 'example.org',
    audience: 'seed-sts',
    clock,
    skewSeconds: 60,
    maxAttestationBytes: 16_384,
    fetchJwks: countingFetcher({}).fetch,
    ...overrides,
  }
}

function minikube(clock: FixedClock, fields: Record<string, unknown> = {}) {
  return createKubernetesAttestor(
    kubernetesConfig({
      name: 'minikube',
      issuer: MINIKUBE_ISSUER,
      audience: 'kubernetes.default.svc',
      jwks: minikubeJwks,
      maxTokenLifetimeSeconds: ELEVEN_YEARS,
      ...fields,
    }),
    deps(clock),
  )
}

t.test('minikube projected token (expires 2030), as of its iat + 60 s', async (t) => {
  const clock = asOf(1_604_082_797 + 60)
  t.same(await minikube(clock).attest(projected2030), {
    subject: 'spiffe://example.org/k8s/minikube/ns/default/sa/default',
    attestor: 'minikube',
    kind: 'kubernetes',
    claims: {
      cluster: 'minikube',
      issuer: MINIKUBE_ISSUER,
      namespace: 'default',
      serviceAccount: 'default',
      serviceAccountUid: '77c81ad7-1bea-4d94-9ca5-f5d7f3632331',
      podName: 'vault',
      podUid: '086c2f61-dea2-47bb-b5ca-63e63c5c9885',
    },
    sources: [{ id: 'k8s:minikube' }, { id: 'k8s:minikube:pod:086c2f61-dea2-47bb-b5ca-63e63c5c9885' }],
    expiresAt: new Date('2030-11-05T04:19:57Z'),
  })
  const fromFile = minikube(clock, { jwks: undefined, jwksFile: `${interop}keys/minikube-sa.DERIVED-jwks.json` })
  t.equal((await fromFile.attest(projected2030)).subject, 'spiffe://example.org/k8s/minikube/ns/default/sa/default', 'also with jwksFile')
  await assertRefused(
    t,
    minikube(clock, { maxTokenLifetimeSeconds: undefined }).attest(projected2030),
    'token_lifetime_too_long',
    /^the token is valid for 316000000 seconds, longer than the 86400 seconds accepted from this issuer$/,
  )
  await assertRefused(t, minikube(clock).attest(tamper(projected2030)), 'signature_invalid', /^the token signature is invalid$/)
})

t.test('minikube 10-minute projected token: accepted in 2020, expired today', async (t) => {
  const identity = await minikube(asOf(1_604_083_286 + 60), { maxTokenLifetimeSeconds: undefined }).attest(expired2020)
  t.equal(identity.subject, 'spiffe://example.org/k8s/minikube/ns/default/sa/default')
  t.same(identity.sources, [{ id: 'k8s:minikube' }, { id: 'k8s:minikube:pod:34be4d5f-66d3-4a29-beea-ce23e51f9fb8' }])
  t.same(identity.expiresAt, new Date('2020-10-30T18:51:26Z'))
  await assertRefused(
    t,
    minikube(new FixedClock(Date.now())).attest(expired2020),
    'token_expired',
    /^the token expired at 2020-10-30T18:51:26.000Z$/,
  )
  await assertRefused(t, minikube(asOf(1_604_083_286 + 60)).attest(tamper(expired2020)), 'signature_invalid', /signature is invalid/)
})

t.test('EKS projected token with the 13-key JWKS of its issuer, as of its iat + 60 s', async (t) => {
  const clock = asOf(1_763_969_878 + 60)
  const eksJwks = readJson('keys/eks-eu-west-1-B88E7287-jwks.json')
  const fetcher = countingFetcher(eksJwks)
  const config = kubernetesConfig({
    name: 'hakawai',
    issuer: EKS_ISSUER,
    audience: 'sts.amazonaws.com',
    jwksUri: 'https://oidc.eks.eu-west-1.amazonaws.com/id/B88E7287E54DB073AC9CDC2FD1BE0969/keys',
  })
  const attestor = createKubernetesAttestor(config, deps(clock, { fetchJwks: fetcher.fetch }))
  t.same(await attestor.attest(eks), {
    subject: 'spiffe://example.org/k8s/hakawai/ns/hakawai/sa/hakawai-litellm-proxy',
    attestor: 'hakawai',
    kind: 'kubernetes',
    claims: {
      cluster: 'hakawai',
      issuer: EKS_ISSUER,
      namespace: 'hakawai',
      serviceAccount: 'hakawai-litellm-proxy',
      serviceAccountUid: '8180de1d-6687-4024-8c6c-bb5d4700897a',
      podName: 'hakawai-litellm-proxy-57456bb9cb-bwzxh',
      podUid: '989f1a6e-8af7-4740-93d8-206f8daf9a84',
      nodeName: 'ip-10-15-179-190.eu-west-1.compute.internal',
      nodeUid: 'ceb6b98b-f46f-448d-8a2d-4e036c36a243',
    },
    sources: [
      { id: 'k8s:hakawai' },
      { id: 'k8s:hakawai:node:ip-10-15-179-190.eu-west-1.compute.internal' },
      { id: 'k8s:hakawai:pod:989f1a6e-8af7-4740-93d8-206f8daf9a84' },
    ],
    expiresAt: new Date('2025-11-25T07:37:58Z'),
  })
  t.equal(fetcher.calls.length, 1, 'the JWKS was fetched once')
  const fromFile = createKubernetesAttestor(
    { ...config, jwksUri: undefined, jwksFile: `${interop}keys/eks-eu-west-1-B88E7287-jwks.json` },
    deps(clock),
  )
  t.equal((await fromFile.attest(eks)).claims.namespace, 'hakawai', 'also with jwksFile')
  await assertRefused(t, fromFile.attest(tamper(eks)), 'signature_invalid', /^the token signature is invalid$/)
  const [header, payload, signature] = eks.split('.') as [string, string, string]
  await assertRefused(t, fromFile.attest(`${header}.${payload}.${signature.slice(0, -4)}AAAA`), 'signature_invalid', /signature is invalid/)
})

t.test('minikube legacy Secret-based token is refused, however well it is signed', async (t) => {
  const legacyKey = createPublicKey(read('keys/minikube-legacy-signer-cert.pem')).export({ format: 'jwk' })
  const attestor = minikube(asOf(1_604_082_797), { jwks: { keys: [legacyKey] } })
  await assertRefused(
    t,
    attestor.attest(legacy),
    'token_kind_not_accepted',
    /^this is a legacy Secret-based service-account token, which never expires and is not bound to an audience; use a projected service-account token instead/,
  )
  // Signed by a key the attestor does not trust, it is refused for its signature: its claims are not read.
  await assertRefused(t, minikube(asOf(1_604_082_797)).attest(legacy), 'signature_invalid', /^the token signature is invalid$/)
  await assertRefused(t, attestor.attest(tamper(legacy)), 'signature_invalid', /^the token signature is invalid$/)
})

t.test('the projected token does not verify with the legacy signer key', async (t) => {
  const legacyKey = createPublicKey(read('keys/minikube-legacy-signer-cert.pem')).export({ format: 'jwk' })
  const attestor = minikube(asOf(1_604_082_797 + 60), {
    jwks: { keys: [{ ...legacyKey, kid: 'pJcxkJ4q0O1tOt0Z37VB6-x6Mw8xFZSxM9roPtMQq0A' }] },
  })
  await assertRefused(t, attestor.attest(projected2030), 'signature_invalid', /^the token signature is invalid$/)
})
