import t from 'tap'
import type { AttestorDeps } from '../../src/attestors/attestor.js'
import { createAttestorRegistry } from '../../src/attestors/registry.js'
import { AttestorConfig, ConfigError, parseConfig } from '../../src/config.js'
import {
  assertRefused,
  b64,
  countingFetcher,
  frozenClock,
  handSign,
  ISSUER,
  jwks,
  k8sClaims,
  kubernetesConfig,
  makeKey,
  signToken,
} from '../support/attestors/jwt-attestations.js'

const JWT = 'urn:ietf:params:oauth:token-type:jwt'

const STAGING = 'https://staging.k8s.example.test'
const AZURE_TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47'
const AZURE_SUBSCRIPTION = '05e8b285-4ce1-46a3-b4c9-f51ba67d6acc'
const prodKey = await makeKey('ES256', 'prod-1')
const stagingKey = await makeKey('ES256', 'staging-1')
const fetcher = countingFetcher(jwks(stagingKey))
const deps: AttestorDeps = {
  trustDomain: 'example.org',
  audience: 'seed-sts',
  clock: frozenClock(),
  skewSeconds: 60,
  maxAttestationBytes: 4096,
  fetchJwks: fetcher.fetch,
}
const registry = createAttestorRegistry(
  [
    kubernetesConfig({ name: 'prod', jwks: jwks(prodKey) }),
    kubernetesConfig({ name: 'staging', issuer: STAGING, jwksUri: `${STAGING}/openid/v1/jwks` }),
  ],
  deps,
)

t.test('lists the configured attestors', async (t) => {
  t.same(registry.list(), [
    { name: 'prod', kind: 'kubernetes', accepts: ISSUER },
    { name: 'staging', kind: 'kubernetes', accepts: STAGING },
  ])
})

t.test('routes each token to the attestor of its issuer', async (t) => {
  const prod = await registry.attest(await signToken(prodKey, k8sClaims()), JWT)
  t.match(prod, { subject: 'spiffe://example.org/k8s/prod/ns/payments/sa/api', attestor: 'prod', kind: 'kubernetes' })
  const staging = await registry.attest(await signToken(stagingKey, k8sClaims({ iss: STAGING })), JWT)
  t.match(staging, { subject: 'spiffe://example.org/k8s/staging/ns/payments/sa/api', attestor: 'staging', claims: { issuer: STAGING } })
})

t.test('the unverified issuer picks the attestor, never the keys', async (t) => {
  await assertRefused(
    t,
    registry.attest(await signToken(stagingKey, k8sClaims()), JWT),
    'key_unknown',
    /^no key with kid "staging-1" is trusted for issuer "https:\/\/k8s.example.test"$/,
  )
  await assertRefused(
    t,
    registry.attest(await signToken(stagingKey, k8sClaims(), { kid: 'prod-1' }), JWT),
    'signature_invalid',
    /^the token signature is invalid$/,
  )
})

t.test('refuses a token from an issuer nobody configured, without fetching anything', async (t) => {
  const before = fetcher.calls.length
  await assertRefused(
    t,
    registry.attest(await signToken(prodKey, k8sClaims({ iss: 'https://evil.test' })), JWT),
    'issuer_unknown',
    /^no attestor is configured for issuer "https:\/\/evil.test"$/,
  )
  const long = await assertRefused(
    t,
    registry.attest(handSign(prodKey, { alg: 'ES256' }, { iss: `https://${'e'.repeat(2000)}.test` }), JWT),
    'issuer_unknown',
    /^no attestor is configured for issuer "https:\/\/eeee.*…" \(2013 characters\)$/,
  )
  t.ok(long.message.length < 200, 'a long issuer is cut short')
  await assertRefused(
    t,
    registry.attest(handSign(prodKey, { alg: 'ES256' }, { sub: 'x' }), JWT),
    'claim_missing',
    /^the token has no issuer \("iss" is \(none\)\)$/,
  )
  await assertRefused(
    t,
    registry.attest(handSign(prodKey, { alg: 'ES256' }, { iss: ['a', 'b'] }), JWT),
    'claim_missing',
    /"iss" is \(a list\)/,
  )
  t.equal(fetcher.calls.length, before, 'no JWKS was fetched')
})

t.test('refuses what is not a JWT before routing', async (t) => {
  await assertRefused(t, registry.attest('', JWT), 'attestation_malformed', /^the attestation is empty$/)
  await assertRefused(t, registry.attest('garbage', JWT), 'attestation_malformed', /not a JWT/)
  await assertRefused(
    t,
    registry.attest(`${b64('{"alg":"RSA-OAEP","enc":"A256GCM"}')}.a.b.c.d`, JWT),
    'header_not_accepted',
    /^encrypted tokens \(JWE\) are not accepted$/,
  )
  await assertRefused(
    t,
    registry.attest(`${b64('{}')}.${b64('not json')}.${b64('x')}`, JWT),
    'attestation_malformed',
    /^the token payload is not valid JSON$/,
  )
  await assertRefused(
    t,
    registry.attest(`${b64('{}')}.${b64('[1]')}.${b64('x')}`, JWT),
    'attestation_malformed',
    /^the token payload is not a JSON object$/,
  )
  await assertRefused(
    t,
    registry.attest(await signToken(prodKey, k8sClaims({ padding: 'x'.repeat(4096) })), JWT),
    'attestation_too_large',
    /^the attestation is larger than 4096 bytes$/,
  )
})

t.test('with no attestors, every token is refused', async (t) => {
  const empty = createAttestorRegistry([], deps)
  t.same(empty.list(), [])
  await assertRefused(
    t,
    empty.attest(await signToken(prodKey, k8sClaims()), JWT),
    'issuer_unknown',
    /^no attestor is configured for issuer "https:\/\/k8s.example.test"$/,
  )
})

t.test('two attestors cannot share an issuer', async (t) => {
  t.throws(
    () =>
      createAttestorRegistry(
        [kubernetesConfig({ name: 'a', jwks: jwks(prodKey) }), kubernetesConfig({ name: 'b', jwks: jwks(prodKey) })],
        deps,
      ),
    new ConfigError([`attestor b: issuer "${ISSUER}" is already used by attestor a; one issuer, one attestor`]),
  )
})

t.test('a token type no attestor takes is refused as a bad request', async (t) => {
  const error = await registry.attest('{"pkcs7":"MIAG"}', 'urn:seed-sts:token-type:aws-instance-identity').catch((e: unknown) => e)
  t.match(error, {
    code: 'invalid_request',
    reason: 'token_type_unsupported',
    message: 'no attestor is configured for subject_token_type "urn:seed-sts:token-type:aws-instance-identity"',
  })
  t.same(registry.subjectTokenTypes(), [JWT, 'urn:ietf:params:oauth:token-type:id_token'])
  t.same(createAttestorRegistry([], deps).subjectTokenTypes(), [], 'with no attestors, no types')
})

t.test('every kind is configured in the one attestors list, and routed by issuer or token type', async (t) => {
  const config = parseConfig({
    issuer: 'https://sts.example.org',
    trustDomain: 'example.org',
    audience: 'seed-sts',
    attestors: [
      { kind: 'kubernetes', name: 'prod', issuer: ISSUER, jwks: jwks(prodKey) },
      { kind: 'aws', name: 'aws', accounts: ['111122223333'] },
      { kind: 'gcp', projects: ['payments-prod'] },
      { kind: 'azure', name: 'azure', subscriptions: [AZURE_SUBSCRIPTION], tenants: [AZURE_TENANT], managedIdentity: {} },
      { kind: 'github', ownerIds: ['3963394'] },
      {
        kind: 'oidc',
        name: 'gitlab',
        issuer: 'https://gitlab.com',
        jwksUri: 'https://gitlab.com/oauth/discovery/keys',
        subjectTemplate: 'ci/gitlab/{claims.project_id}',
      },
    ],
  })
  const all = createAttestorRegistry(config.attestors, deps)
  t.same(all.list(), [
    { name: 'prod', kind: 'kubernetes', accepts: ISSUER },
    { name: 'gcp', kind: 'gcp', accepts: 'https://accounts.google.com' },
    { name: 'azure', kind: 'azure', accepts: `https://sts.windows.net/${AZURE_TENANT}/` },
    { name: 'azure', kind: 'azure', accepts: `https://login.microsoftonline.com/${AZURE_TENANT}/v2.0` },
    { name: 'github', kind: 'github', accepts: 'https://token.actions.githubusercontent.com' },
    { name: 'gitlab', kind: 'oidc', accepts: 'https://gitlab.com' },
    { name: 'aws', kind: 'aws', accepts: 'urn:seed-sts:token-type:aws-instance-identity' },
    { name: 'azure', kind: 'azure', accepts: 'urn:seed-sts:token-type:azure-attested-data' },
  ])
  t.same(all.subjectTokenTypes(), [
    JWT,
    'urn:ietf:params:oauth:token-type:id_token',
    'urn:seed-sts:token-type:aws-instance-identity',
    'urn:seed-sts:token-type:azure-attested-data',
  ])
  await assertRefused(
    t,
    all.attest(await signToken(prodKey, k8sClaims({ iss: 'https://sts.windows.net/00000000-0000-0000-0000-000000000000/' })), JWT),
    'issuer_unknown',
    /^no attestor is configured for issuer/,
  )
})

t.test('one issuer or token type, one attestor: a second of a kind with a default is refused', async (t) => {
  t.throws(
    () =>
      parseConfig({
        issuer: 'https://sts.example.org',
        trustDomain: 'example.org',
        audience: 'seed-sts',
        attestors: [
          { kind: 'github', name: 'a', owners: ['acme'] },
          { kind: 'github', name: 'b', owners: ['other'] },
        ],
      }),
    /attestors\.1\.issuer: issuer "https:\/\/token\.actions\.githubusercontent\.com" is already used by attestors\.0/,
  )
  // Built without parseConfig (which refuses them already: one namespace, namespace.test.ts), the registry refuses them too.
  const twoAws = [
    { kind: 'aws', name: 'a', accounts: ['111122223333'] },
    { kind: 'aws', name: 'b', accounts: ['444455556666'] },
  ].map((c) => AttestorConfig.parse(c))
  t.throws(
    () => createAttestorRegistry(twoAws, deps),
    /^invalid configuration:\n {2}- attestor b: urn:seed-sts:token-type:aws-instance-identity is already taken by attestor a; list everything it should allow in one attestor$/,
  )
  const azure = (name: string) => ({
    kind: 'azure',
    name,
    subscriptions: [AZURE_SUBSCRIPTION],
    tenants: [AZURE_TENANT],
    managedIdentity: {},
  })
  const twoAzure = [azure('a'), azure('b')].map((c) => AttestorConfig.parse(c))
  t.throws(
    () => createAttestorRegistry(twoAzure, deps),
    /attestor b: urn:seed-sts:token-type:azure-attested-data is already taken by attestor a/,
  )
})
