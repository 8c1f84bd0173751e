import t from 'tap'
import type { AttestorDeps } from '../../../src/attestors/attestor.js'
import { createOidcAttestor } from '../../../src/attestors/oidc/attestor.js'
import { OidcAttestorConfig } from '../../../src/attestors/oidc/config.js'
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

const ec = await makeKey('ES256', 'ec-1')
const rsa = await makeKey('RS256', 'rsa-1')
const ed = await makeKey('EdDSA', 'ed-1')
const stranger = await makeKey('ES256', 'ec-1')
const ISSUER = 'https://gitlab.example.org'

function deps(overrides: Partial<AttestorDeps> = {}): AttestorDeps {
  return jwtAttestorDeps(ec, overrides)
}
function oidcConfig(fields: Record<string, unknown> = {}): OidcAttestorConfig {
  return OidcAttestorConfig.parse({
    kind: 'oidc',
    name: 'gitlab',
    issuer: ISSUER,
    jwks: jwks(ec, rsa, ed),
    subjectTemplate: 'ci/gitlab/{claims.project_id}',
    ...fields,
  })
}
/** A GitLab CI job token, roughly. */
function ciClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: 'project_path:acme/app:ref_type:branch:ref:main',
    jti: '9a4e2e1c-1f61-4c3c-8d7b-6a0f4bb1f3a4',
    namespace_path: 'acme',
    project_id: 42,
    project_path: 'acme/app',
    ref: 'main',
    ref_protected: true,
    pipeline: { source: 'push', id: '1001' },
    groups: ['a', 'b'],
    iat: NOW - 60,
    nbf: NOW - 60,
    exp: NOW + 3000,
    ...overrides,
  }
}
const attestor = createOidcAttestor(
  oidcConfig({
    claims: ['project_path', 'ref', 'ref_protected', 'pipeline.source', 'missing'],
    requiredClaims: { namespace_path: 'acme' },
  }),
  deps(),
)

t.test('the identity is rendered from the template; the listed claims are exposed', async (t) => {
  t.match(attestor, { name: 'gitlab', kind: 'oidc', issuer: ISSUER })
  t.same(await attestor.attest(await signToken(ec, ciClaims())), {
    subject: 'spiffe://example.org/ci/gitlab/42',
    attestor: 'gitlab',
    kind: 'oidc',
    claims: {
      project_path: 'acme/app',
      ref: 'main',
      ref_protected: 'true',
      pipeline_source: 'push',
      jti: '9a4e2e1c-1f61-4c3c-8d7b-6a0f4bb1f3a4',
    },
    sources: [{ id: 'oidc:gitlab' }],
    expiresAt: new Date((NOW + 3000) * 1000),
    singleUse: { key: `${ISSUER}|jti:9a4e2e1c-1f61-4c3c-8d7b-6a0f4bb1f3a4`, until: new Date((NOW + 3060) * 1000) },
  })
  const withoutJti = await attestor.attest(await signToken(ec, ciClaims({ jti: undefined })))
  t.notOk('jti' in withoutJti.claims, 'no jti, no jti claim')
  t.match(withoutJti.singleUse?.key, /^https:\/\/gitlab\.example\.org\|sha256:/, "without a jti, the token's hash names it")
  t.equal(
    (await createOidcAttestor(oidcConfig({ singleUse: false }), deps()).attest(await signToken(ec, ciClaims()))).singleUse,
    undefined,
    'singleUse: false',
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(ec, ciClaims({ jti: 7 }))),
    'claim_invalid',
    /^the token id \("jti"\) \(a number\) is not valid$/,
  )
})

t.test('templates: placeholders, fixed text, and several segments', async (t) => {
  const render = async (subjectTemplate: string, claims: Record<string, unknown> = {}): Promise<string> =>
    (await createOidcAttestor(oidcConfig({ subjectTemplate }), deps()).attest(await signToken(ec, ciClaims(claims)))).subject
  t.equal(await render('oidc/{iss_host}/{sub}', { sub: 'user-1' }), 'spiffe://example.org/oidc/gitlab.example.org/user-1')
  t.equal(await render('oidc/{name}/{claims.pipeline.source}/run-{claims.pipeline.id}'), 'spiffe://example.org/oidc/gitlab/push/run-1001')
  t.equal(await render('ci/buildkite'), 'spiffe://example.org/ci/buildkite', 'a template may have no placeholder')
  t.equal(await render('ci/{claims.namespace_path}.{claims.project_id}'), 'spiffe://example.org/ci/acme.42')
})

t.test('a claim value that cannot be one path segment is refused with a clear message', async (t) => {
  const bySub = createOidcAttestor(oidcConfig({ subjectTemplate: 'oidc/{name}/{sub}' }), deps())
  for (const sub of ['acme/app', '*', 'a b', 'user@example.org', 'a:b', '', 'x'.repeat(129), 'é']) {
    await assertRefused(
      t,
      bySub.attest(await signToken(ec, ciClaims({ sub }))),
      'claim_invalid',
      /^the token claim "sub" is .*, which cannot be part of an identity \(1 to 128 of A-Z a-z 0-9 \. _ -\)$/,
    )
  }
  for (const sub of [1.5, true, { a: 1 }, ['x'], null]) {
    await assertRefused(
      t,
      bySub.attest(await signToken(ec, ciClaims({ sub }))),
      'claim_invalid',
      /^the token claim "sub" is \(.*\), which cannot be part of an identity/,
    )
  }
  for (const sub of ['.', '..']) {
    await assertRefused(
      t,
      bySub.attest(await signToken(ec, ciClaims({ sub }))),
      'claim_invalid',
      /^the token claims render the identity path segment "\.\.?", which is not accepted$/,
    )
  }
  await assertRefused(
    t,
    bySub.attest(await signToken(ec, ciClaims({ sub: undefined }))),
    'claim_missing',
    /^the token has no "sub" claim, which the identity template needs$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(ec, ciClaims({ project_id: '4/2' }))),
    'claim_invalid',
    /^the token claim "project_id" is "4\/2", which cannot be part/,
  )
})

t.test('required claims must match their globs', async (t) => {
  const strict = createOidcAttestor(
    oidcConfig({
      requiredClaims: { namespace_path: 'acme', ref: ['main', 'release/*'], ref_protected: 'true', 'pipeline.source': 'push' },
    }),
    deps(),
  )
  t.ok(await strict.attest(await signToken(ec, ciClaims())))
  t.ok(await strict.attest(await signToken(ec, ciClaims({ ref: 'release/1.2' }))), 'one glob of a list is enough')
  await assertRefused(
    t,
    strict.attest(await signToken(ec, ciClaims({ ref: 'release/1.2/x' }))),
    'claim_not_allowed',
    /^the token claim "ref" is "release\/1.2\/x", which attestor "gitlab" does not accept$/,
  )
  await assertRefused(
    t,
    strict.attest(await signToken(ec, ciClaims({ namespace_path: 'acme-evil' }))),
    'claim_not_allowed',
    /^the token claim "namespace_path" is "acme-evil", which attestor "gitlab" does not accept$/,
  )
  await assertRefused(
    t,
    strict.attest(await signToken(ec, ciClaims({ ref_protected: false }))),
    'claim_not_allowed',
    /claim "ref_protected" is "false"/,
  )
  await assertRefused(
    t,
    strict.attest(await signToken(ec, ciClaims({ namespace_path: undefined }))),
    'claim_missing',
    /^the token has no "namespace_path" claim, which attestor "gitlab" requires$/,
  )
  await assertRefused(
    t,
    strict.attest(await signToken(ec, ciClaims({ pipeline: { id: '1' } }))),
    'claim_missing',
    /^the token has no "pipeline.source" claim/,
  )
  await assertRefused(
    t,
    strict.attest(await signToken(ec, ciClaims({ ref: ['main'] }))),
    'claim_invalid',
    /^the token claim "ref" is \(a list\); only strings, numbers and booleans can be matched$/,
  )
  const proto = createOidcAttestor(oidcConfig({ requiredClaims: { 'constructor.name': 'Object' } }), deps())
  await assertRefused(t, proto.attest(await signToken(ec, ciClaims())), 'claim_missing', /no "constructor.name" claim/)
})

t.test('an exposed claim that is not a string, number or boolean is refused', async (t) => {
  const listed = createOidcAttestor(oidcConfig({ claims: ['groups'] }), deps())
  await assertRefused(
    t,
    listed.attest(await signToken(ec, ciClaims())),
    'claim_invalid',
    /^the token claim "groups" is \(a list\); only strings, numbers and booleans can be matched$/,
  )
})

t.test('signature, issuer, audience, time, algorithm and size are checked', async (t) => {
  await assertRefused(t, attestor.attest(await signToken(stranger, ciClaims())), 'signature_invalid', /^the token signature is invalid$/)
  await assertRefused(t, attestor.attest(tamper(await signToken(ec, ciClaims()))), 'signature_invalid', /^the token signature is invalid$/)
  await assertRefused(
    t,
    attestor.attest(await signToken(ec, ciClaims({ iss: 'https://gitlab.com' }))),
    'issuer_mismatch',
    /^the token issuer "https:\/\/gitlab.com" is not "https:\/\/gitlab.example.org"$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(ec, ciClaims({ aud: 'https://gitlab.example.org' }))),
    'audience_mismatch',
    /^the token is addressed to "https:\/\/gitlab.example.org", not to "seed-sts"$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(ec, ciClaims({ iat: NOW - 400, exp: NOW - 100 }))),
    'token_expired',
    /^the token expired at 2025-06-15T16:25:00.000Z$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(ec, ciClaims({ exp: NOW + 3600 }))),
    'token_lifetime_too_long',
    /^the token is valid for 3660 seconds, longer than the 3600 seconds accepted from this issuer$/,
  )
  t.ok(await attestor.attest(await signToken(rsa, ciClaims())), 'RS256 by default')
  await assertRefused(
    t,
    attestor.attest(await signToken(ed, ciClaims())),
    'algorithm_not_accepted',
    /^the token algorithm "EdDSA" is not accepted \(accepted: RS256, ES256\)$/,
  )
  await assertRefused(
    t,
    attestor.attest(handSign(ec, { alg: 'HS256', kid: 'ec-1' }, ciClaims())),
    'algorithm_not_accepted',
    /algorithm "HS256" is not accepted/,
  )
  await assertRefused(
    t,
    createOidcAttestor(oidcConfig(), deps({ maxAttestationBytes: 512 })).attest(await signToken(ec, ciClaims())),
    'attestation_too_large',
    /^the attestation is larger than 512 bytes$/,
  )
  const edOnly = createOidcAttestor(oidcConfig({ algorithms: ['EdDSA'], audience: 'https://sts.example.org' }), deps())
  t.ok(await edOnly.attest(await signToken(ed, ciClaims({ aud: 'https://sts.example.org' }))), 'configured algorithms and audience')
})

t.test('a token with a bad signature is refused for its signature, whatever else is wrong with it', async (t) => {
  // `stranger` signs under the kid of the issuer's key: only the signature check can tell.
  const bad: [string, Record<string, unknown>][] = [
    ['another issuer', ciClaims({ iss: 'https://gitlab.com' })],
    ['another audience', ciClaims({ aud: 'https://gitlab.example.org' })],
    ['an expiry long past', ciClaims({ iat: NOW - 7200, exp: NOW - 3600 })],
    ['a required claim that does not match', ciClaims({ namespace_path: 'evil' })],
    ['no claim for the identity template', ciClaims({ project_id: undefined })],
  ]
  for (const [what, claims] of bad) {
    await assertRefused(t, attestor.attest(await signToken(stranger, claims)), 'signature_invalid', /^the token signature is invalid$/)
    t.pass(`refused for its signature, not for ${what}`)
  }
})

t.test('the JWKS URI is fetched when configured', async (t) => {
  const fetcher = countingFetcher(jwks(ec))
  const remote = createOidcAttestor(
    oidcConfig({ jwks: undefined, jwksUri: `${ISSUER}/oauth/discovery/keys` }),
    deps({ fetchJwks: fetcher.fetch }),
  )
  t.ok(await remote.attest(await signToken(ec, ciClaims())))
  t.same(fetcher.calls, [`${ISSUER}/oauth/discovery/keys`])
})

t.test('the configuration: defaults, and every problem named', async (t) => {
  t.match(
    OidcAttestorConfig.parse({ kind: 'oidc', name: 'gitlab', issuer: ISSUER, jwksUri: `${ISSUER}/keys`, subjectTemplate: 'ci/{sub}' }),
    {
      algorithms: ['RS256', 'ES256'],
      maxTokenLifetimeSeconds: 3600,
      singleUse: true,
      claims: [],
      requiredClaims: {},
    },
  )
  const problems = (input: Record<string, unknown>): string[] =>
    OidcAttestorConfig.safeParse({ kind: 'oidc', name: 'gitlab', issuer: ISSUER, jwks: jwks(ec), ...input }).error?.issues.map(
      (i) => `${i.path.join('.')}: ${i.message}`,
    ) ?? []
  const template = (subjectTemplate: string): string[] => problems({ subjectTemplate })
  t.same(template('ci/{sub}'), [])
  t.same(template('/ci/{sub}'), ['subjectTemplate: must be a path: no leading, trailing or doubled "/"'])
  t.same(template('ci//{sub}'), ['subjectTemplate: must be a path: no leading, trailing or doubled "/"'])
  t.same(template('{sub}/ci'), ['subjectTemplate: must start with fixed text, e.g. "oidc/{name}/{sub}" (found "{sub}")'])
  t.same(template('k8s/prod/ns/{sub}/sa/default'), [
    'subjectTemplate: must not start with "k8s/", which belongs to the built-in k8s attestor',
  ])
  t.same(template('github/{sub}'), ['subjectTemplate: must not start with "github/", which belongs to the built-in github attestor'])
  t.same(
    template('GitHub/{sub}'),
    ['subjectTemplate: must not start with "GitHub/", which belongs to the built-in GitHub attestor'],
    'in any case',
  )
  t.same(template('ci/{email}'), [
    'subjectTemplate: {email} is not a placeholder: use {sub}, {claims.<name or dot path>}, {iss_host} or {name}',
  ])
  t.same(template('ci/{claims.a..b}'), [
    'subjectTemplate: {claims.a..b} is not a placeholder: use {sub}, {claims.<name or dot path>}, {iss_host} or {name}',
  ])
  t.same(template('ci/a b/{sub}'), [
    'subjectTemplate: "a b" cannot be part of a SPIFFE ID path (only A-Z a-z 0-9 . _ - and placeholders in {})',
  ])
  t.same(template('ci/{sub'), ['subjectTemplate: "{" cannot be part of a SPIFFE ID path (only A-Z a-z 0-9 . _ - and placeholders in {})'])
  t.same(template('ci/../{sub}'), ['subjectTemplate: must not have a "." or ".." segment'])
  t.same(problems({ issuer: 'https://[::1]:8443', subjectTemplate: 'ci/{iss_host}' }), [
    'subjectTemplate: {iss_host} is "[::1]", which cannot be part of a SPIFFE ID path',
  ])
  t.same(problems({ subjectTemplate: 'ci/{sub}', claims: ['pipeline.source', 'pipeline_source'] }), [
    'claims.1: "pipeline_source" and "pipeline.source" would both be exposed as "pipeline_source"',
  ])
  t.same(problems({ subjectTemplate: 'ci/{sub}', claims: ['https://example.org/roles', '1st', 'a-b'] }), [
    'claims.0: must be a claim name or dot path that grant conditions can name: letters, digits, "_" (a "." becomes "_"), starting with a letter, at most 64',
    'claims.1: must be a claim name or dot path that grant conditions can name: letters, digits, "_" (a "." becomes "_"), starting with a letter, at most 64',
    'claims.2: must be a claim name or dot path that grant conditions can name: letters, digits, "_" (a "." becomes "_"), starting with a letter, at most 64',
  ])
  t.same(problems({ subjectTemplate: 'ci/{sub}', jwks: undefined }), [': give exactly one of jwks, jwksFile or jwksUri'])
  t.same(problems({ subjectTemplate: 'ci/{sub}', jwksUri: `${ISSUER}/keys` }), [': give exactly one of jwks, jwksFile or jwksUri'])
  t.same(problems({ subjectTemplate: 'ci/{sub}', issuer: 'gitlab' }), ['issuer: Invalid URL'])
  t.same(problems({ subjectTemplate: 'ci/{sub}', requiredClaims: { ref: '' } }), [
    'requiredClaims.ref: Too small: expected string to have >=1 characters',
  ])
})
