import t from 'tap'
import type { AttestorDeps } from '../../../src/attestors/attestor.js'
import { createGitHubAttestor } from '../../../src/attestors/github/attestor.js'
import { GITHUB_ISSUER, GitHubAttestorConfig } from '../../../src/attestors/github/config.js'
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

const github = await makeKey('RS256', 'gh-1')
const other = await makeKey('RS256', 'gh-2')
const ec = await makeKey('ES256', 'ec-1')
const GHES = 'https://ghes.example.org/_services/token'

function deps(overrides: Partial<AttestorDeps> = {}): AttestorDeps {
  return jwtAttestorDeps(github, overrides)
}
function githubConfig(fields: Record<string, unknown> = {}): GitHubAttestorConfig {
  return GitHubAttestorConfig.parse({ kind: 'github', owners: ['acme'], jwks: jwks(github, ec), ...fields })
}
/** A push to main of acme/app, shaped as GitHub shapes it: nbf = iat - 600, exp = iat + 300, ids as strings. */
function ghClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    jti: '79685b65-945d-450a-a3d8-a36bcf72c23d',
    sub: 'repo:acme/app:environment:production',
    aud: AUDIENCE,
    ref: 'refs/heads/main',
    sha: '04de3558bc5861874a86f8fcd67e516554101e71',
    repository: 'acme/app',
    repository_owner: 'acme',
    repository_owner_id: '1946610',
    run_id: '4545231084',
    run_number: '4',
    run_attempt: '1',
    repository_visibility: 'private',
    repository_id: '620393838',
    actor_id: '1946611',
    actor: 'octocat',
    workflow: 'Deploy',
    head_ref: '',
    base_ref: '',
    event_name: 'push',
    ref_protected: 'true',
    ref_type: 'branch',
    environment: 'production',
    workflow_ref: 'acme/app/.github/workflows/deploy.yml@refs/heads/main',
    workflow_sha: '04de3558bc5861874a86f8fcd67e516554101e71',
    job_workflow_ref: 'acme/platform/.github/workflows/deploy.yml@refs/tags/v1',
    job_workflow_sha: 'a61bd32ec51ea98212227f4bff728667f0ae340e',
    runner_environment: 'github-hosted',
    iss: GITHUB_ISSUER,
    nbf: NOW - 660,
    iat: NOW - 60,
    exp: NOW + 240,
    ...overrides,
  }
}
const attestor = createGitHubAttestor(githubConfig(), deps())

t.test("a workflow token gives the repository identity, with GitHub's claims under GitHub's names", async (t) => {
  t.match(attestor, { name: 'github', kind: 'github', issuer: GITHUB_ISSUER })
  t.same(await attestor.attest(await signToken(github, ghClaims())), {
    subject: 'spiffe://example.org/github/acme/app',
    attestor: 'github',
    kind: 'github',
    claims: {
      sub: 'repo:acme/app:environment:production',
      repository: 'acme/app',
      repository_id: '620393838',
      repository_owner: 'acme',
      repository_owner_id: '1946610',
      repository_visibility: 'private',
      ref: 'refs/heads/main',
      ref_type: 'branch',
      ref_protected: 'true',
      environment: 'production',
      workflow: 'Deploy',
      workflow_ref: 'acme/app/.github/workflows/deploy.yml@refs/heads/main',
      job_workflow_ref: 'acme/platform/.github/workflows/deploy.yml@refs/tags/v1',
      job_workflow_sha: 'a61bd32ec51ea98212227f4bff728667f0ae340e',
      sha: '04de3558bc5861874a86f8fcd67e516554101e71',
      event_name: 'push',
      actor: 'octocat',
      actor_id: '1946611',
      run_id: '4545231084',
      run_attempt: '1',
      runner_environment: 'github-hosted',
      jti: '79685b65-945d-450a-a3d8-a36bcf72c23d',
    },
    sources: [
      { id: 'github:acme' },
      { id: 'github:repository_owner_id:1946610' },
      { id: 'github:acme/app' },
      { id: 'github:repository_id:620393838' },
    ],
    expiresAt: new Date((NOW + 240) * 1000),
    singleUse: {
      key: 'https://token.actions.githubusercontent.com|jti:79685b65-945d-450a-a3d8-a36bcf72c23d',
      until: new Date((NOW + 240 + 60) * 1000),
    },
  })
  const reusable = createGitHubAttestor(githubConfig({ singleUse: false }), deps())
  t.equal((await reusable.attest(await signToken(github, ghClaims()))).singleUse, undefined, 'singleUse: false turns it off')
  const noEnvironment = await attestor.attest(await signToken(github, ghClaims({ environment: undefined, ref_protected: undefined })))
  t.notOk('environment' in noEnvironment.claims, 'a claim the token lacks is absent, not empty')
})

t.test('owners: only those listed, without regard to case; ownerIds: only those ids', async (t) => {
  await assertRefused(
    t,
    attestor.attest(await signToken(github, ghClaims({ repository: 'evil/app', repository_owner: 'evil' }))),
    'claim_not_allowed',
    /^the repository owner "evil" is not one of the owners attestor "github" accepts$/,
  )
  const upper = createGitHubAttestor(githubConfig({ owners: ['ACME'] }), deps())
  t.equal(
    (await upper.attest(await signToken(github, ghClaims()))).subject,
    'spiffe://example.org/github/acme/app',
    'the allow-list is compared without case',
  )
  // The name "acme" deleted and registered again by somebody else: same name, another id.
  const pinned = createGitHubAttestor(githubConfig({ owners: ['acme'], ownerIds: [1946610] }), deps())
  t.ok(await pinned.attest(await signToken(github, ghClaims())))
  await assertRefused(
    t,
    pinned.attest(await signToken(github, ghClaims({ repository_owner_id: '99999999' }))),
    'claim_not_allowed',
    /^the repository owner id "99999999" \(acme\) is not one of the owner ids attestor "github" accepts$/,
  )
  const idsOnly = createGitHubAttestor(githubConfig({ owners: undefined, ownerIds: ['1946610'] }), deps())
  t.equal(
    (await idsOnly.attest(await signToken(github, ghClaims({ repository: 'acme-renamed/app', repository_owner: 'acme-renamed' })))).subject,
    'spiffe://example.org/github/acme-renamed/app',
    'an id survives a rename',
  )
})

t.test('owner, repository and ids must be what GitHub allows', async (t) => {
  const refuse = async (claims: Record<string, unknown>, description: RegExp): Promise<void> => {
    await assertRefused(t, attestor.attest(await signToken(github, ghClaims(claims))), 'claim_invalid', description)
  }
  await refuse({ repository: 'other/app' }, /^the token repository "other\/app" is not a repository of "acme"$/)
  await refuse({ repository: 'acme/..' }, /repository "acme\/\.\." is not a repository of "acme"/)
  await refuse({ repository: 'acme/a*' }, /repository "acme\/a\*" is not/)
  await refuse({ repository: 'acme/app/x' }, /^the token claim "repository" "acme\/app\/x" is not valid$/)
  await refuse({ repository: 'acme' }, /claim "repository" "acme" is not valid/)
  await refuse({ repository_owner: 'ac/me' }, /^the token claim "repository_owner" "ac\/me" is not valid$/)
  await refuse({ repository_owner: '*' }, /claim "repository_owner" "\*" is not valid/)
  await refuse({ repository_owner_id: 1946610 }, /^the token claim "repository_owner_id" \(a number\) is not valid$/)
  await refuse({ repository_id: 'x1' }, /^the token claim "repository_id" "x1" is not valid$/)
  await refuse({ repository_id: undefined }, /claim "repository_id" \(none\) is not valid/)
  await refuse({ run_attempt: 5 }, /^the token claim "run_attempt" is \(a number\), not a string$/)
  await refuse({ jti: undefined }, /^the token claim "jti" \(none\) is not valid$/)
})

t.test('a name GitHub compares without case gets one spelling: identity, source ids and claims lower-cased', async (t) => {
  const mixed = ghClaims({
    sub: 'repo:ACME/Api:environment:Production',
    repository: 'ACME/Api',
    repository_owner: 'ACME',
    actor: 'OctoCat',
    environment: 'Production',
    workflow_ref: 'ACME/Api/.github/workflows/Deploy.yml@refs/heads/Main',
    job_workflow_ref: 'ACME/Platform/.github/workflows/Deploy.yml@refs/tags/V1',
    ref: 'refs/heads/Main',
    workflow: 'Deploy',
  })
  const identity = await attestor.attest(await signToken(github, mixed))
  t.equal(identity.subject, 'spiffe://example.org/github/acme/api')
  t.same(identity.sources, [
    { id: 'github:acme' },
    { id: 'github:repository_owner_id:1946610' },
    { id: 'github:acme/api' },
    { id: 'github:repository_id:620393838' },
  ])
  t.same(
    [
      identity.claims.repository,
      identity.claims.repository_owner,
      identity.claims.actor,
      identity.claims.environment,
      identity.claims.workflow_ref,
      identity.claims.job_workflow_ref,
    ],
    [
      'acme/api',
      'acme',
      'octocat',
      'production',
      'acme/api/.github/workflows/Deploy.yml@refs/heads/Main',
      'acme/platform/.github/workflows/Deploy.yml@refs/tags/V1',
    ],
    'the owner/repo of a workflow ref is lower-cased, its path and ref are not',
  )
  t.same(
    [identity.claims.sub, identity.claims.ref, identity.claims.workflow],
    ['repo:ACME/Api:environment:Production', 'refs/heads/Main', 'Deploy'],
    "sub, refs and workflow names keep GitHub's case",
  )
})

t.test("another issuer mints under its attestor's name: never github.com's identities or source ids", async (t) => {
  const fetcher = countingFetcher(jwks(github))
  const ghes = createGitHubAttestor(githubConfig({ name: 'ghes', issuer: GHES, jwks: undefined }), deps({ fetchJwks: fetcher.fetch }))
  const identity = await ghes.attest(await signToken(github, ghClaims({ iss: GHES })))
  t.equal(identity.subject, 'spiffe://example.org/ghes/acme/app', 'not the github.com repository of the same name')
  t.same(
    identity.sources.map((s) => s.id),
    ['ghes:acme', 'ghes:repository_owner_id:1946610', 'ghes:acme/app', 'ghes:repository_id:620393838'],
  )
  t.same(fetcher.calls, ['https://ghes.example.org/_services/token/.well-known/jwks'])
  await assertRefused(
    t,
    ghes.attest(await signToken(github, ghClaims())),
    'issuer_mismatch',
    /^the token issuer "https:\/\/token.actions.githubusercontent.com" is not "https:\/\/ghes.example.org\/_services\/token"$/,
  )
  // An enterprise's own issuer on github.com: the same repositories, but another issuer's word.
  const enterprise = createGitHubAttestor(
    githubConfig({ name: 'acme-corp', issuer: `${GITHUB_ISSUER}/acme-corp`, jwks: undefined }),
    deps({ fetchJwks: fetcher.fetch }),
  )
  const fromEnterprise = await enterprise.attest(await signToken(github, ghClaims({ iss: `${GITHUB_ISSUER}/acme-corp` })))
  const fromGitHub = await attestor.attest(await signToken(github, ghClaims()))
  t.same(
    [fromEnterprise.subject, fromEnterprise.sources.map((s) => s.id)],
    [
      'spiffe://example.org/acme-corp/acme/app',
      ['acme-corp:acme', 'acme-corp:repository_owner_id:1946610', 'acme-corp:acme/app', 'acme-corp:repository_id:620393838'],
    ],
  )
  t.same(
    [fromGitHub.subject, fromGitHub.sources.map((s) => s.id)],
    [
      'spiffe://example.org/github/acme/app',
      ['github:acme', 'github:repository_owner_id:1946610', 'github:acme/app', 'github:repository_id:620393838'],
    ],
  )
  t.equal(fetcher.calls[1], `${GITHUB_ISSUER}/acme-corp/.well-known/jwks`)
})

t.test("GitHub's JWKS is fetched by default", async (t) => {
  const fetcher = countingFetcher(jwks(github))
  const remote = createGitHubAttestor(githubConfig({ jwks: undefined }), deps({ fetchJwks: fetcher.fetch }))
  t.ok(await remote.attest(await signToken(github, ghClaims())))
  t.same(fetcher.calls, ['https://token.actions.githubusercontent.com/.well-known/jwks'])
})

t.test('signature, issuer, audience, time, algorithm and size are checked', async (t) => {
  await assertRefused(
    t,
    attestor.attest(await signToken(other, ghClaims(), { kid: 'gh-1' })),
    'signature_invalid',
    /^the token signature is invalid$/,
  )
  await assertRefused(
    t,
    attestor.attest(tamper(await signToken(github, ghClaims()))),
    'signature_invalid',
    /^the token signature is invalid$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(github, ghClaims({ iss: 'https://token.actions.githubusercontent.com.evil.test' }))),
    'issuer_mismatch',
    /^the token issuer "https:\/\/token.actions.githubusercontent.com.evil.test" is not "https:\/\/token.actions.githubusercontent.com"$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(github, ghClaims({ aud: 'https://github.com/acme' }))),
    'audience_mismatch',
    /^the token is addressed to "https:\/\/github.com\/acme", not to "seed-sts"$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(github, ghClaims({ iat: NOW - 400, exp: NOW - 100 }))),
    'token_expired',
    /^the token expired at 2025-06-15T16:25:00.000Z$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(github, ghClaims({ nbf: NOW + 120 }))),
    'token_not_yet_valid',
    /^the token is not valid before/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(github, ghClaims({ exp: NOW + 3600 }))),
    'token_lifetime_too_long',
    /^the token is valid for 3660 seconds, longer than the 3600 seconds accepted from this issuer$/,
  )
  await assertRefused(
    t,
    attestor.attest(await signToken(ec, ghClaims())),
    'algorithm_not_accepted',
    /^the token algorithm "ES256" is not accepted \(accepted: RS256\)$/,
  )
  await assertRefused(
    t,
    attestor.attest(handSign(ec, { alg: 'HS256' }, ghClaims())),
    'algorithm_not_accepted',
    /algorithm "HS256" is not accepted/,
  )
  await assertRefused(t, attestor.attest(`${'a'.repeat(16_385)}`), 'attestation_too_large', /^the attestation is larger than 16384 bytes$/)
  const own = createGitHubAttestor(githubConfig({ audience: 'https://github.com/acme' }), deps())
  t.ok(await own.attest(await signToken(github, ghClaims({ aud: 'https://github.com/acme' }))), "the attestor's own audience")
})

t.test('a token with a bad signature is refused for its signature, whatever else is wrong with it', async (t) => {
  // `other` signs under the kid of GitHub's key: only the signature check can tell.
  const forge = (claims: Record<string, unknown>): Promise<string> => signToken(other, claims, { kid: 'gh-1' })
  const bad: [string, Record<string, unknown>][] = [
    ['another issuer', ghClaims({ iss: 'https://token.actions.githubusercontent.com.evil.test' })],
    ['another audience', ghClaims({ aud: 'https://github.com/acme' })],
    ['an expiry long past', ghClaims({ iat: NOW - 7200, exp: NOW - 3600 })],
    ['an owner not accepted', ghClaims({ repository_owner: 'evil', repository: 'evil/app' })],
    ['no jti', ghClaims({ jti: undefined })],
  ]
  for (const [what, claims] of bad) {
    await assertRefused(t, attestor.attest(await forge(claims)), 'signature_invalid', /^the token signature is invalid$/)
    t.pass(`refused for its signature, not for ${what}`)
  }
})

t.test('the configuration: defaults, and every problem named', async (t) => {
  t.same(GitHubAttestorConfig.parse({ kind: 'github', ownerIds: ['1946610', 3963394] }), {
    kind: 'github',
    name: 'github',
    issuer: GITHUB_ISSUER,
    algorithms: ['RS256'],
    maxTokenLifetimeSeconds: 3600,
    jwksCacheSeconds: 300,
    jwksRefreshCooldownSeconds: 30,
    singleUse: true,
    ownerIds: ['1946610', '3963394'],
  })
  const problems = (input: Record<string, unknown>): string[] =>
    GitHubAttestorConfig.safeParse({ kind: 'github', ...input }).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? []
  t.same(problems({}), ['owners: give owners or ownerIds (or both): without them every repository on GitHub could attest'])
  t.same(problems({ owners: [] }), ['owners: Too small: expected array to have >=1 items'])
  t.same(problems({ owners: ['ac/me'], ownerIds: ['0x1', -1] }), [
    'owners.0: must be a GitHub user or organization name',
    'ownerIds.0: must be a numeric GitHub id, e.g. 3963394',
    'ownerIds.1: must be a numeric GitHub id, e.g. 3963394',
  ])
  t.same(problems({ owners: ['acme'], jwks: jwks(github), jwksFile: '/etc/jwks.json' }), [
    ": give at most one of jwks, jwksFile or jwksUri (with none, the issuer's published JWKS is fetched)",
  ])
  t.same(problems({ owners: ['acme'], issuer: GHES }), [
    "name: an attestor for an issuer other than github.com's mints spiffe://<trustDomain>/<name>/<owner>/<repo>: give it a name of its own (not k8s, gcp, github, aws, azure, oidc)",
  ])
  t.same(problems({ owners: ['acme'], issuer: GHES, name: 'k8s' }), problems({ owners: ['acme'], issuer: GHES }), "nor another kind's")
  t.same(problems({ owners: ['acme'], issuer: GHES, name: 'ghes' }), [])
  t.same(problems({ owners: ['acme'], repositories: ['acme/app'] }), [': Unrecognized key: "repositories"'])
})
