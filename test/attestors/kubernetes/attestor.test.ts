import { createHmac } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import type { AttestorDeps } from '../../../src/attestors/attestor.js'
import { createKubernetesAttestor } from '../../../src/attestors/kubernetes/attestor.js'
import type { KubernetesAttestorConfig } from '../../../src/attestors/kubernetes/config.js'
import { InvalidGrantError } from '../../../src/errors.js'
import {
  assertRefused,
  b64,
  countingFetcher,
  frozenClock,
  handSign,
  ISSUER,
  jwks,
  jwtAttestorDeps,
  k8sClaims,
  kubernetesConfig,
  makeKey,
  NOW,
  signToken,
  tamper,
} from '../../support/attestors/jwt-attestations.js'

const ec = await makeKey('ES256', 'ec-1')
const rsa = await makeKey('RS256', 'rsa-1')
const ed = await makeKey('EdDSA', 'ed-1')
const rotated = await makeKey('ES256', 'ec-2')
const JWKS_URI = 'https://k8s.example.test/openid/v1/jwks'

function deps(overrides: Partial<AttestorDeps> = {}): AttestorDeps {
  return jwtAttestorDeps(ec, overrides)
}
const inlineConfig: KubernetesAttestorConfig = kubernetesConfig({ jwks: jwks(ec, rsa, ed), algorithms: ['ES256', 'RS256', 'EdDSA'] })
const attestor = createKubernetesAttestor(inlineConfig, deps())

t.test('a projected token gives the service account identity, with its pod and node', async (t) => {
  t.match(attestor, { name: 'prod', kind: 'kubernetes', issuer: ISSUER })
  t.same(await attestor.attest(await signToken(ec, k8sClaims())), {
    subject: 'spiffe://example.org/k8s/prod/ns/payments/sa/api',
    attestor: 'prod',
    kind: 'kubernetes',
    claims: {
      cluster: 'prod',
      issuer: ISSUER,
      namespace: 'payments',
      serviceAccount: 'api',
      serviceAccountUid: '11111111-2222-3333-4444-555555555555',
      podName: 'api-7d4b9c-x2x9z',
      podUid: '66666666-7777-8888-9999-000000000000',
      nodeName: 'ip-10-0-0-1.eu-west-1.compute.internal',
      nodeUid: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee',
    },
    sources: [
      { id: 'k8s:prod' },
      { id: 'k8s:prod:node:ip-10-0-0-1.eu-west-1.compute.internal' },
      { id: 'k8s:prod:pod:66666666-7777-8888-9999-000000000000' },
    ],
    expiresAt: new Date((NOW + 3540) * 1000),
  })
})

t.test('RS256 and EdDSA tokens are accepted when configured', async (t) => {
  for (const key of [rsa, ed]) {
    t.equal((await attestor.attest(await signToken(key, k8sClaims()))).subject, 'spiffe://example.org/k8s/prod/ns/payments/sa/api', key.alg)
  }
  const defaults = createKubernetesAttestor(kubernetesConfig({ jwks: jwks(ec, ed) }), deps())
  await assertRefused(
    t,
    defaults.attest(await signToken(ed, k8sClaims())),
    'algorithm_not_accepted',
    /^the token algorithm "EdDSA" is not accepted \(accepted: RS256, ES256\)$/,
  )
})

t.test('a token bound to no pod or node gives only the claims it has', async (t) => {
  const identity = await attestor.attest(
    await signToken(ec, k8sClaims({ 'kubernetes.io': { namespace: 'payments', serviceaccount: { name: 'api' } } })),
  )
  t.same(identity.claims, { cluster: 'prod', issuer: ISSUER, namespace: 'payments', serviceAccount: 'api' })
  t.same(identity.sources, [{ id: 'k8s:prod' }])
})

t.test("the audience is the attestor's own, else the service's", async (t) => {
  const own = createKubernetesAttestor(kubernetesConfig({ jwks: jwks(ec), audience: 'sts.prod' }), deps())
  t.ok(await own.attest(await signToken(ec, k8sClaims({ aud: ['sts.prod'] }))))
  await assertRefused(
    t,
    own.attest(await signToken(ec, k8sClaims())),
    'audience_mismatch',
    /^the token is addressed to "seed-sts", not to "sts.prod"$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(ec, k8sClaims({ aud: ['https://kubernetes.default.svc'] }))),
    'audience_mismatch',
    /not to "seed-sts"/,
  )
})

t.test('a legacy Secret-based token is refused with a way forward', async (t) => {
  const legacy = await signToken(ec, {
    iss: ISSUER,
    sub: 'system:serviceaccount:payments:api',
    'kubernetes.io/serviceaccount/namespace': 'payments',
    'kubernetes.io/serviceaccount/secret.name': 'api-token-x7k2p',
    'kubernetes.io/serviceaccount/service-account.name': 'api',
    'kubernetes.io/serviceaccount/service-account.uid': '11111111-2222-3333-4444-555555555555',
  })
  await assertRefused(
    t,
    attestor.attest(legacy),
    'token_kind_not_accepted',
    /^this is a legacy Secret-based service-account token, which never expires and is not bound to an audience; use a projected service-account token instead \(a serviceAccountToken volume with audience "seed-sts", or kubectl create token <service-account> --audience "seed-sts"\)$/,
  )
})

t.test('namespace and service account must be names Kubernetes allows', async (t) => {
  const token = (namespace: unknown, name: unknown, sub = `system:serviceaccount:${String(namespace)}:${String(name)}`): Promise<string> =>
    signToken(ec, k8sClaims({ sub, 'kubernetes.io': { namespace, serviceaccount: { name } } }))
  for (const namespace of ['../x', 'Payments', 'a/b', '*', '', 'a'.repeat(64), 'a.b', 7, undefined]) {
    await assertRefused(
      t,
      attestor.attest(await token(namespace, 'api')),
      'claim_invalid',
      /^the token namespace .* is not a valid Kubernetes namespace name$/,
    )
  }
  for (const name of ['a/b', '*', '..', 'a..b', '.a', '-a', 'A', 'x'.repeat(254), '', ['api'], undefined]) {
    await assertRefused(
      t,
      attestor.attest(await token('payments', name)),
      'claim_invalid',
      /^the token service account .* is not a valid Kubernetes service account name$/,
    )
  }
  t.equal(
    (await attestor.attest(await token('payments', 'api.v2'))).subject,
    'spiffe://example.org/k8s/prod/ns/payments/sa/api.v2',
    'a DNS subdomain is a valid service account name',
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(ec, k8sClaims({ 'kubernetes.io': undefined }))),
    'claim_missing',
    /^the token has no "kubernetes.io" claim; it is not a projected service-account token$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(ec, k8sClaims({ sub: 'system:serviceaccount:payments:admin' }))),
    'claim_invalid',
    /^the token subject "system:serviceaccount:payments:admin" does not match its namespace and service account \(expected "system:serviceaccount:payments:api"\)$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(ec, k8sClaims({ sub: undefined }))),
    'claim_invalid',
    /^the token subject \(none\) does not match/,
  )
})

t.test('pod and node claims, when present, must be well-formed', async (t) => {
  const with_ = (k8s: Record<string, unknown>): Promise<string> =>
    signToken(ec, k8sClaims({ 'kubernetes.io': { namespace: 'payments', serviceaccount: { name: 'api' }, ...k8s } }))
  await assertRefused(
    t,
    attestor.attest(await with_({ pod: { name: 'p', uid: '../../x' } })),
    'claim_invalid',
    /^the token pod uid "..\/..\/x" is not valid$/,
  )
  await assertRefused(
    t,
    attestor.attest(await with_({ node: { name: 'node 1' } })),
    'claim_invalid',
    /^the token node name "node 1" is not valid$/,
  )
  await assertRefused(t, attestor.attest(await with_({ pod: { name: 'a*' } })), 'claim_invalid', /pod name "a\*" is not valid/)
  await assertRefused(
    t,
    attestor.attest(await with_({ serviceaccount: { name: 'api', uid: 5 } })),
    'claim_invalid',
    /service account uid \(a number\) is not valid/,
  )
})

t.test('the attestor refuses what the verifier refuses', async (t) => {
  const claims = k8sClaims()
  const header = { alg: 'ES256', kid: 'ec-1' }
  await assertRefused(
    t,
    attestor.attest(await signToken(rotated, k8sClaims(), { kid: 'ec-1' })),
    'signature_invalid',
    /^the token signature is invalid$/,
  )
  await assertRefused(t, attestor.attest(tamper(await signToken(ec, claims))), 'signature_invalid', /signature is invalid/)
  await assertRefused(
    t,
    attestor.attest(await signToken(ec, k8sClaims({ iss: 'https://other.test' }))),
    'issuer_mismatch',
    /^the token issuer "https:\/\/other.test" is not "https:\/\/k8s.example.test"$/,
  )
  await assertRefused(t, attestor.attest(await signToken(ec, k8sClaims({ exp: NOW - 61 }))), 'token_expired', /^the token expired at/)
  await assertRefused(
    t,
    attestor.attest(await signToken(ec, k8sClaims({ nbf: NOW + 120 }))),
    'token_not_yet_valid',
    /^the token is not valid before/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(ec, k8sClaims({ iat: NOW + 120 }))),
    'token_not_yet_valid',
    /^the token was issued in the future/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(ec, k8sClaims({ iat: NOW, exp: NOW + 86_401 }))),
    'token_lifetime_too_long',
    /^the token is valid for 86401 seconds, longer than the 86400 seconds accepted from this issuer$/,
  )
  const longLived = createKubernetesAttestor(kubernetesConfig({ jwks: jwks(ec), maxTokenLifetimeSeconds: 172_800 }), deps())
  t.ok(await longLived.attest(await signToken(ec, k8sClaims({ iat: NOW, exp: NOW + 86_401 }))), 'maxTokenLifetimeSeconds is honoured')
  await assertRefused(
    t,
    attestor.attest(handSign(ec, header, JSON.stringify(claims).replace(/"exp":\d+/, '"exp":1e400'))),
    'claim_invalid',
    /"exp" claim is not a finite number/,
  )
  await assertRefused(
    t,
    attestor.attest(`${b64(JSON.stringify({ alg: 'none' }))}.${b64(JSON.stringify(claims))}.${b64('-')}`),
    'algorithm_not_accepted',
    /algorithm "none" is not accepted/,
  )
  const hsInput = `${b64(JSON.stringify({ alg: 'HS256', kid: 'rsa-1' }))}.${b64(JSON.stringify(claims))}`
  await assertRefused(
    t,
    attestor.attest(`${hsInput}.${b64(createHmac('sha256', JSON.stringify(rsa.jwk)).update(hsInput).digest())}`),
    'algorithm_not_accepted',
    /algorithm "HS256" is not accepted/,
  )
  await assertRefused(
    t,
    attestor.attest('eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d'),
    'header_not_accepted',
    /^encrypted tokens \(JWE\) are not accepted$/,
  )
  await assertRefused(t, attestor.attest(`${'a'.repeat(16_385)}`), 'attestation_too_large', /larger than 16384 bytes/)
  await assertRefused(t, attestor.attest('%%%.***.!!!'), 'attestation_malformed', /not a JWT/)
  await assertRefused(
    t,
    attestor.attest(`${b64('{}')}.${b64(JSON.stringify(claims))}.${b64('x')}`),
    'algorithm_not_accepted',
    /algorithm \(none\) is not accepted/,
  )
  await assertRefused(t, attestor.attest(`${b64('{}')}.${b64('[]')}.${b64('x')}`), 'attestation_malformed', /payload is not a JSON object/)
  await assertRefused(
    t,
    attestor.attest(handSign(ec, header, '["not","an","object"]')),
    'attestation_malformed',
    /payload is not a JSON object/,
  )
})

t.test('a token with a bad signature is refused for its signature, whatever else is wrong with it', async (t) => {
  // `rotated` signs under the kid of a trusted key: only the signature check can tell.
  const forge = (claims: Record<string, unknown>): Promise<string> => signToken(rotated, claims, { kid: 'ec-1' })
  const bad: [string, Record<string, unknown>][] = [
    ['another issuer', k8sClaims({ iss: 'https://other.test' })],
    ['another audience', k8sClaims({ aud: ['https://kubernetes.default.svc'] })],
    ['an expiry long past', k8sClaims({ iat: NOW - 7200, exp: NOW - 3600 })],
    ['no kubernetes.io claim', k8sClaims({ 'kubernetes.io': undefined })],
    ['a namespace Kubernetes does not allow', k8sClaims({ 'kubernetes.io': { namespace: '../x', serviceaccount: { name: 'api' } } })],
    [
      'the claims of a legacy Secret-based token',
      { iss: ISSUER, sub: 'system:serviceaccount:payments:api', 'kubernetes.io/serviceaccount/namespace': 'payments' },
    ],
  ]
  for (const [what, claims] of bad) {
    await assertRefused(t, attestor.attest(await forge(claims)), 'signature_invalid', /^the token signature is invalid$/)
    t.pass(`refused for its signature, not for ${what}`)
  }
})

t.test('with a jwksUri: one refetch for an unknown kid, none within the cooldown', async (t) => {
  const fetcher = countingFetcher(jwks(ec))
  const clock = frozenClock()
  const remote = createKubernetesAttestor(kubernetesConfig({ jwksUri: JWKS_URI }), deps({ clock, fetchJwks: fetcher.fetch }))
  t.same(fetcher.calls, [], 'nothing is fetched before the first token')
  t.ok(await remote.attest(await signToken(ec, k8sClaims())))
  t.same(fetcher.calls, [JWKS_URI])
  clock.advance(60_000)
  await assertRefused(
    t,
    remote.attest(await signToken(rotated, k8sClaims())),
    'key_unknown',
    /^no key with kid "ec-2" is trusted for issuer "https:\/\/k8s.example.test"$/,
  )
  t.equal(fetcher.calls.length, 2, 'one refetch for the unknown kid')
  clock.advance(10_000)
  await assertRefused(t, remote.attest(await signToken(rotated, k8sClaims(), { kid: 'ec-3' })), 'key_unknown', /no key with kid "ec-3"/)
  t.equal(fetcher.calls.length, 2, 'a second unknown kid within the 30 s cooldown fetches nothing')
  fetcher.answer = async () => jwks(ec, rotated)
  clock.advance(20_000)
  t.ok(await remote.attest(await signToken(rotated, k8sClaims())), 'the rotated key is picked up after the cooldown')
  t.equal(fetcher.calls.length, 3)
})

t.test('with a jwksUri: hostile headers never cause a fetch', async (t) => {
  const fetcher = countingFetcher(jwks(ec))
  const remote = createKubernetesAttestor(kubernetesConfig({ jwksUri: JWKS_URI }), deps({ fetchJwks: fetcher.fetch }))
  const claims = k8sClaims()
  for (const kid of ['../../etc/passwd', "' OR 1=1 --", 'k'.repeat(10_240)]) {
    await assertRefused(
      t,
      remote.attest(handSign(ec, { alg: 'ES256', kid }, claims)),
      'header_not_accepted',
      /^the token key id .* is not valid/,
    )
  }
  for (const extra of [{ jwk: ec.jwk }, { jku: 'https://evil.test/jwks' }, { x5u: 'https://evil.test/x.pem' }, { x5c: ['MIIB'] }]) {
    await assertRefused(
      t,
      remote.attest(handSign(ec, { alg: 'ES256', kid: 'ec-1', ...extra }, claims)),
      'header_not_accepted',
      /^the token names its own key/,
    )
  }
  await assertRefused(
    t,
    remote.attest(handSign(ec, { alg: 'ES256', kid: 'ec-1', crit: ['foo'], foo: true }, claims)),
    'header_not_accepted',
    /"crit" header/,
  )
  t.same(fetcher.calls, [], 'the fetcher was never called')
})

t.test('with a jwksFile: the keys come from the file', async (t) => {
  const file = join(t.testdir(), 'jwks.json')
  writeFileSync(file, JSON.stringify(jwks(rsa)))
  const fromFile = createKubernetesAttestor(kubernetesConfig({ jwksFile: file }), deps())
  t.ok(await fromFile.attest(await signToken(rsa, k8sClaims())))
  await assertRefused(t, fromFile.attest(await signToken(ec, k8sClaims())), 'key_unknown', /no key with kid "ec-1"/, InvalidGrantError)
  t.throws(() => createKubernetesAttestor(kubernetesConfig({ jwksFile: '/nonexistent/jwks.json' }), deps()), {
    name: 'ConfigError',
    problems: [/^attestor prod: jwksFile \/nonexistent\/jwks.json: cannot read a JWKS \(ENOENT/],
  })
  t.throws(() => createKubernetesAttestor(kubernetesConfig({ jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] } }), deps()), {
    name: 'ConfigError',
    problems: ['attestor prod: jwks: no usable signature key (key 0: symmetric keys are never accepted)'],
  })
})
