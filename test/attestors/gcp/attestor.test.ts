import t from 'tap'
import type { AttestorDeps } from '../../../src/attestors/attestor.js'
import { createGcpAttestor } from '../../../src/attestors/gcp/attestor.js'
import { GcpAttestorConfig, GOOGLE_ISSUER, GOOGLE_JWKS_URI } from '../../../src/attestors/gcp/config.js'
import {
  assertRefused,
  AUDIENCE,
  countingFetcher,
  handSign,
  jwks,
  jwtAttestorDeps,
  makeKey,
  NOW,
  signToken,
  tamper,
} from '../../support/attestors/jwt-attestations.js'

// `google` stands in for Google's signing key; `serviceAccount` for a key any GCP user can mint.
const google = await makeKey('RS256', 'google-1')
const serviceAccount = await makeKey('RS256', 'sa-key-1')
const ec = await makeKey('ES256', 'ec-1')
const PROJECT = 'payments-prod'

function deps(overrides: Partial<AttestorDeps> = {}): AttestorDeps {
  return jwtAttestorDeps(google, overrides)
}
function gcpConfig(fields: Record<string, unknown> = {}): GcpAttestorConfig {
  return GcpAttestorConfig.parse({ kind: 'gcp', projects: [PROJECT], jwks: jwks(google, ec), ...fields })
}
/** A `format=full` instance identity token's claims, issued a minute ago for an hour, as Google shapes them. */
function iitClaims(overrides: Record<string, unknown> = {}, gce: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: GOOGLE_ISSUER,
    aud: AUDIENCE,
    azp: '106652250211606546223',
    sub: '106652250211606546223',
    email: '847250625900-compute@developer.gserviceaccount.com',
    email_verified: true,
    iat: NOW - 60,
    exp: NOW + 3540,
    google: {
      compute_engine: {
        instance_creation_timestamp: NOW - 86_400,
        instance_id: '3015378661047007286',
        instance_name: 'api-1',
        project_id: PROJECT,
        project_number: 847250625900,
        zone: 'europe-west1-b',
        ...gce,
      },
    },
    ...overrides,
  }
}
const attestor = createGcpAttestor(gcpConfig(), deps())

t.test('an instance identity token gives the instance identity, its claims and sources', async (t) => {
  t.match(attestor, { name: 'gcp', kind: 'gcp', issuer: 'https://accounts.google.com' })
  t.same(await attestor.attest(await signToken(google, iitClaims())), {
    subject: 'spiffe://example.org/gcp/payments-prod/europe-west1-b/api-1',
    attestor: 'gcp',
    kind: 'gcp',
    claims: {
      projectId: PROJECT,
      projectNumber: '847250625900',
      zone: 'europe-west1-b',
      region: 'europe-west1',
      instanceId: '3015378661047007286',
      instanceName: 'api-1',
      serviceAccountEmail: '847250625900-compute@developer.gserviceaccount.com',
      serviceAccountId: '106652250211606546223',
    },
    sources: [
      { id: 'gcp:payments-prod' },
      { id: 'gcp:payments-prod:europe-west1-b' },
      { id: 'gcp:payments-prod:europe-west1-b:3015378661047007286' },
    ],
    expiresAt: new Date((NOW + 3540) * 1000),
  })
})

t.test('license ids (licenses=TRUE) are joined with ","', async (t) => {
  const identity = await attestor.attest(await signToken(google, iitClaims({}, { license_id: ['1001010', '166739712233658766'] })))
  t.equal(identity.claims.licenseIds, '1001010,166739712233658766')
  await assertRefused(
    t,
    attestor.attest(await signToken(google, iitClaims({}, { license_id: ['cos', 5] }))),
    'claim_invalid',
    /^the token license ids \(a list\) are not a list of numeric ids$/,
  )
})

t.test('only the configured projects', async (t) => {
  await assertRefused(
    t,
    attestor.attest(await signToken(google, iitClaims({}, { project_id: 'payments-dev' }))),
    'claim_not_allowed',
    /^the token project "payments-dev" is not one of the projects attestor "gcp" accepts$/,
  )
  const two = createGcpAttestor(gcpConfig({ projects: ['payments-dev', PROJECT] }), deps())
  t.equal((await two.attest(await signToken(google, iitClaims({}, { project_id: 'payments-dev' })))).claims.projectId, 'payments-dev')
})

t.test('a token without Compute Engine claims is refused with the way to get one', async (t) => {
  await assertRefused(
    t,
    attestor.attest(await signToken(google, iitClaims({ google: undefined }))),
    'token_kind_not_accepted',
    /^the token has no "google.compute_engine" claims; request the instance identity token with format=full \(metadata path instance\/service-accounts\/default\/identity\?audience=seed-sts&format=full\)$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(google, iitClaims({ google: { compute_engine: 'x' } }))),
    'token_kind_not_accepted',
    /no "google.compute_engine" claims/,
  )
})

t.test('every name that reaches the identity is one GCP allows', async (t) => {
  const refuse = async (gce: Record<string, unknown>, description: RegExp): Promise<void> => {
    await assertRefused(t, attestor.attest(await signToken(google, iitClaims({}, gce))), 'claim_invalid', description)
  }
  for (const name of ['api/1', '*', 'API-1', '1api', 'api-', '', 'a'.repeat(64), '..', 7, undefined])
    await refuse({ instance_name: name }, /^the token instance name .* is not valid$/)
  for (const zone of ['europe-west1', 'europe-west1-*', 'europe-west1-b/x', '../../x', 'Europe-west1-b', undefined])
    await refuse({ zone }, /^the token zone .* is not valid$/)
  for (const id of ['example.com:payments-prod', 'payments/prod', 'Payments-prod', 'p*', 3])
    await refuse({ project_id: id }, /^the token project id .* is not valid$/)
  // eslint-disable-next-line no-loss-of-precision -- a numeric instance id, as a JSON number that lost its digits would arrive
  for (const id of ['30153786610470072x', '', 3015378661047007286, '1'.repeat(21)])
    await refuse({ instance_id: id }, /^the token instance id .* is not valid$/)
  for (const number of [1.5, -1, '84725062590x', null])
    await refuse({ project_number: number }, /^the token project number .* is not valid$/)
  t.equal(
    (await attestor.attest(await signToken(google, iitClaims({}, { project_number: '847250625900' })))).claims.projectNumber,
    '847250625900',
    'a numeric string is a project number too',
  )
  await refuse({ instance_creation_timestamp: undefined }, /^the token instance creation timestamp \(none\) is not a number of seconds$/)
  await assertRefused(
    t,
    attestor.attest(await signToken(google, iitClaims({ email: undefined }))),
    'claim_invalid',
    /^the token service account email \(none\) is not valid$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(google, iitClaims({ email: 'a*b' }))),
    'claim_invalid',
    /service account email "a\*b" is not valid/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(google, iitClaims({ sub: 'robot' }))),
    'claim_invalid',
    /^the token subject \(service account id\) "robot" is not valid$/,
  )
})

t.test('Compute Engine claims signed by anyone but the configured Google keys are refused (CVE-2020-16251 class)', async (t) => {
  // What the Vault bypass did: a service account key signs a JWT with made-up Compute Engine claims.
  await assertRefused(
    t,
    attestor.attest(await signToken(serviceAccount, iitClaims(), { kid: 'google-1' })),
    'signature_invalid',
    /^the token signature is invalid$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(serviceAccount, iitClaims())),
    'key_unknown',
    /^no key with kid "sa-key-1" is trusted for issuer "https:\/\/accounts.google.com"$/,
  )
  // Refused for its key, before its issuer is read: nothing a token claims counts until Google's key verifies it.
  await assertRefused(
    t,
    attestor.attest(await signToken(serviceAccount, iitClaims({ iss: '847250625900-compute@developer.gserviceaccount.com' }))),
    'key_unknown',
    /^no key with kid "sa-key-1" is trusted for issuer "https:\/\/accounts.google.com"$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(serviceAccount, iitClaims(), { jwk: serviceAccount.jwk })),
    'header_not_accepted',
    /^the token names its own key \("jwk" header\)/,
  )
  await assertRefused(
    t,
    attestor.attest(tamper(await signToken(google, iitClaims()))),
    'signature_invalid',
    /^the token signature is invalid$/,
  )
})

t.test('a token with a bad signature is refused for its signature, whatever else is wrong with it', async (t) => {
  // `serviceAccount` signs under the kid of Google's key: only the signature check can tell.
  const forge = (claims: Record<string, unknown>): Promise<string> => signToken(serviceAccount, claims, { kid: 'google-1' })
  const bad: [string, Record<string, unknown>][] = [
    ['another issuer', iitClaims({ iss: '847250625900-compute@developer.gserviceaccount.com' })],
    ['another audience', iitClaims({ aud: 'https://vault.example.org' })],
    ['an expiry long past', iitClaims({ iat: NOW - 7200, exp: NOW - 3600 })],
    ['no Compute Engine claims', iitClaims({ google: undefined })],
    ['a project not accepted', iitClaims({}, { project_id: 'someone-else' })],
  ]
  for (const [what, claims] of bad) {
    await assertRefused(t, attestor.attest(await forge(claims)), 'signature_invalid', /^the token signature is invalid$/)
    t.pass(`refused for its signature, not for ${what}`)
  }
})

t.test('issuer, audience, time, algorithm and size are checked', async (t) => {
  await assertRefused(
    t,
    attestor.attest(await signToken(google, iitClaims({ iss: 'accounts.google.com' }))),
    'issuer_mismatch',
    /^the token issuer "accounts.google.com" is not "https:\/\/accounts.google.com"$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(google, iitClaims({ aud: 'https://vault.example.org' }))),
    'audience_mismatch',
    /^the token is addressed to "https:\/\/vault.example.org", not to "seed-sts"$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(google, iitClaims({ iat: NOW - 3700, exp: NOW - 100 }))),
    'token_expired',
    /^the token expired at 2025-06-15T16:25:00.000Z$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(google, iitClaims({ exp: NOW + 3600 }))),
    'token_lifetime_too_long',
    /^the token is valid for 3660 seconds, longer than the 3600 seconds accepted from this issuer$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(ec, iitClaims())),
    'algorithm_not_accepted',
    /^the token algorithm "ES256" is not accepted \(accepted: RS256\)$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken({ ...google, alg: 'PS256' }, iitClaims())),
    'algorithm_not_accepted',
    /^the token algorithm "PS256" is not accepted \(accepted: RS256\)$/,
  )
  await assertRefused(
    t,
    attestor.attest(handSign(ec, { alg: 'none' }, iitClaims())),
    'algorithm_not_accepted',
    /algorithm "none" is not accepted/,
  )
  await assertRefused(t, attestor.attest('a'.repeat(16_385)), 'attestation_too_large', /^the attestation is larger than 16384 bytes$/)
  const own = createGcpAttestor(gcpConfig({ audience: 'https://sts.example.org' }), deps())
  t.equal(
    (await own.attest(await signToken(google, iitClaims({ aud: 'https://sts.example.org' })))).claims.instanceName,
    'api-1',
    "the attestor's own audience",
  )
})

t.test('single-use only when configured: the token has no jti, so its hash names it', async (t) => {
  const token = await signToken(google, iitClaims())
  t.equal((await attestor.attest(token)).singleUse, undefined, 'off by default')
  const once = createGcpAttestor(gcpConfig({ singleUse: true }), deps())
  const { singleUse } = await once.attest(token)
  t.match(singleUse, { key: /^https:\/\/accounts\.google\.com\|sha256:[A-Za-z0-9_-]{43}$/, until: new Date((NOW + 3540 + 60) * 1000) })
  t.not(
    (await once.attest(await signToken(google, iitClaims({ iat: NOW - 59 })))).singleUse?.key,
    singleUse?.key,
    'another token, another key',
  )
})

t.test("Google's JWKS is fetched by default; a configured jwksUri replaces it", async (t) => {
  const fetcher = countingFetcher(jwks(google))
  const remote = createGcpAttestor(gcpConfig({ jwks: undefined }), deps({ fetchJwks: fetcher.fetch }))
  t.equal(
    (await remote.attest(await signToken(google, iitClaims()))).subject,
    'spiffe://example.org/gcp/payments-prod/europe-west1-b/api-1',
  )
  t.same(fetcher.calls, [GOOGLE_JWKS_URI])
  const mirror = createGcpAttestor(
    gcpConfig({ jwks: undefined, jwksUri: 'https://keys.example.org/google.json' }),
    deps({ fetchJwks: fetcher.fetch }),
  )
  await mirror.attest(await signToken(google, iitClaims()))
  t.same(fetcher.calls, [GOOGLE_JWKS_URI, 'https://keys.example.org/google.json'])
})

t.test('the configuration: defaults, and every problem named', async (t) => {
  t.same(GcpAttestorConfig.parse({ kind: 'gcp', projects: [PROJECT] }), {
    kind: 'gcp',
    name: 'gcp',
    issuer: GOOGLE_ISSUER,
    algorithms: ['RS256'],
    maxTokenLifetimeSeconds: 3600,
    jwksCacheSeconds: 300,
    jwksRefreshCooldownSeconds: 30,
    singleUse: false,
    projects: [PROJECT],
  })
  const problems = (input: Record<string, unknown>): string[] =>
    GcpAttestorConfig.safeParse({ kind: 'gcp', ...input }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? []
  t.same(problems({}), ['projects: Invalid input: expected array, received undefined'])
  t.same(problems({ projects: [] }), ['projects: list the GCP projects whose instances may attest'])
  t.same(problems({ projects: ['example.com:p', 'ok-project'] }), [
    'projects.0: must be a GCP project id (6 to 30 lowercase letters, digits or "-", starting with a letter)',
  ])
  t.same(problems({ projects: [PROJECT], jwks: jwks(google), jwksUri: GOOGLE_JWKS_URI }), [
    ": give at most one of jwks, jwksFile or jwksUri (with none, the issuer's published JWKS is fetched)",
  ])
  t.same(problems({ projects: [PROJECT], algorithms: ['HS256'] }), [
    'algorithms.0: Invalid option: expected one of "RS256"|"RS384"|"RS512"|"PS256"|"PS384"|"PS512"|"ES256"|"ES384"|"ES512"|"EdDSA"',
  ])
  t.same(problems({ projects: [PROJECT], zones: ['x'] }), [': Unrecognized key: "zones"'])
})
