import { createPublicKey } from 'node:crypto'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { createGitHubAttestor } from '../../../src/attestors/github/attestor.js'
import { GitHubAttestorConfig } from '../../../src/attestors/github/config.js'
import { FixedClock } from '../../../src/lib/clock.js'
import { assertRefused, countingFetcher, makeKey, signToken, tamper } from '../../support/attestors/jwt-attestations.js'
import { interopDir } from '../../support/interop.js'

/**
 * Real GitHub Actions OIDC tokens from public repositories, with GitHub's 2023 JWKS (see
 * test/fixtures/interop/README.md, section 4). Each is accepted as of its iat + 60 s.
 */

const interop = interopDir('github-oidc')
const read = (name: string): string => readFileSync(`${interop}${name}`, 'utf8').trim()
const JWKS_FILE = `${interop}keys/github-actions-jwks-2023-from-rubygems.json`

const rubygems = read('rubygems-segiddins-oidc-test-2023.jwt')
const qoomon = read('qoomon-sandbox-2023.jwt')
const RUBYGEMS_IAT = 1_680_020_537
const QOOMON_IAT = 1_696_164_347

function attestor(fields: Record<string, unknown>, audience: string, now: number) {
  return createGitHubAttestor(GitHubAttestorConfig.parse({ kind: 'github', jwksFile: JWKS_FILE, ...fields }), {
    trustDomain: 'example.org',
    audience,
    clock: new FixedClock(now * 1000),
    skewSeconds: 60,
    maxAttestationBytes: 16_384,
    fetchJwks: countingFetcher({}).fetch,
  })
}
const segiddins = (fields: Record<string, unknown> = { owners: ['segiddins'] }, now = RUBYGEMS_IAT + 60) =>
  attestor(fields, 'https://github.com/segiddins', now)
const sandbox = (fields: Record<string, unknown> = { ownerIds: ['3963394'] }, now = QOOMON_IAT + 60) =>
  attestor(fields, 'sts.amazonaws.com', now)

t.test('rubygems segiddins/oidc-test token (2023): the whole identity', async (t) => {
  t.same(await segiddins().attest(rubygems), {
    subject: 'spiffe://example.org/github/segiddins/oidc-test',
    attestor: 'github',
    kind: 'github',
    claims: {
      sub: 'repo:segiddins/oidc-test:ref:refs/heads/main',
      repository: 'segiddins/oidc-test',
      repository_id: '620393838',
      repository_owner: 'segiddins',
      repository_owner_id: '1946610',
      repository_visibility: 'public',
      ref: 'refs/heads/main',
      ref_type: 'branch',
      workflow: '.github/workflows/token.yml',
      workflow_ref: 'segiddins/oidc-test/.github/workflows/token.yml@refs/heads/main',
      job_workflow_ref: 'segiddins/oidc-test/.github/workflows/token.yml@refs/heads/main',
      job_workflow_sha: '04de3558bc5861874a86f8fcd67e516554101e71',
      sha: '04de3558bc5861874a86f8fcd67e516554101e71',
      event_name: 'push',
      actor: 'segiddins',
      actor_id: '1946610',
      run_id: '4545231084',
      run_attempt: '1',
      runner_environment: 'github-hosted',
      jti: '79685b65-945d-450a-a3d8-a36bcf72c23d',
    },
    sources: [
      { id: 'github:segiddins' },
      { id: 'github:repository_owner_id:1946610' },
      { id: 'github:segiddins/oidc-test' },
      { id: 'github:repository_id:620393838' },
    ],
    expiresAt: new Date('2023-03-28T16:27:17Z'),
    singleUse: {
      key: 'https://token.actions.githubusercontent.com|jti:79685b65-945d-450a-a3d8-a36bcf72c23d',
      until: new Date('2023-03-28T16:28:17Z'),
    },
  })
})

t.test('qoomon/sandbox token (2023, private repository): the whole identity', async (t) => {
  t.same(await sandbox().attest(qoomon), {
    subject: 'spiffe://example.org/github/qoomon/sandbox',
    attestor: 'github',
    kind: 'github',
    claims: {
      sub: 'repo:qoomon/sandbox:ref:refs/heads/aws-github-access-manager',
      repository: 'qoomon/sandbox',
      repository_id: '35282741',
      repository_owner: 'qoomon',
      repository_owner_id: '3963394',
      repository_visibility: 'private',
      ref: 'refs/heads/aws-github-access-manager',
      ref_type: 'branch',
      ref_protected: 'false',
      workflow: 'GitHub Actions Access Manager Example',
      workflow_ref: 'qoomon/sandbox/.github/workflows/github_actions_access_manager.example.yml@refs/heads/aws-github-access-manager',
      job_workflow_ref: 'qoomon/sandbox/.github/workflows/github_actions_access_manager.example.yml@refs/heads/aws-github-access-manager',
      job_workflow_sha: 'a61bd32ec51ea98212227f4bff728667f0ae340e',
      sha: 'a61bd32ec51ea98212227f4bff728667f0ae340e',
      event_name: 'push',
      actor: 'qoomon',
      actor_id: '3963394',
      run_id: '6370333187',
      run_attempt: '5',
      runner_environment: 'github-hosted',
      jti: 'e1294f1b-b837-49c9-91fc-d1bc61f16bb4',
    },
    sources: [
      { id: 'github:qoomon' },
      { id: 'github:repository_owner_id:3963394' },
      { id: 'github:qoomon/sandbox' },
      { id: 'github:repository_id:35282741' },
    ],
    expiresAt: new Date('2023-10-01T12:50:47Z'),
    singleUse: {
      key: 'https://token.actions.githubusercontent.com|jti:e1294f1b-b837-49c9-91fc-d1bc61f16bb4',
      until: new Date('2023-10-01T12:51:47Z'),
    },
  })
})

t.test('also with the signing certificate (x5c) as the only key', async (t) => {
  const jwk = createPublicKey(read('keys/github-actions-78167F72-x5c.pem')).export({ format: 'jwk' })
  const fromCert = segiddins({
    owners: ['segiddins'],
    jwksFile: undefined,
    jwks: { keys: [{ ...jwk, kid: '78167F727DEC5D801DD1C8784C704A1C880EC0E1' }] },
  })
  t.equal((await fromCert.attest(rubygems)).subject, 'spiffe://example.org/github/segiddins/oidc-test')
})

t.test('an owner not allowed is refused, by name or by id', async (t) => {
  await assertRefused(
    t,
    segiddins({ owners: ['rubygems'] }).attest(rubygems),
    'claim_not_allowed',
    /^the repository owner "segiddins" is not one of the owners attestor "github" accepts$/,
  )
  await assertRefused(
    t,
    sandbox({ owners: ['qoomon'], ownerIds: ['1946610'] }).attest(qoomon),
    'claim_not_allowed',
    /^the repository owner id "3963394" \(qoomon\) is not one of the owner ids attestor "github" accepts$/,
  )
  t.equal((await sandbox({ owners: ['QOOMON'] }).attest(qoomon)).claims.repository, 'qoomon/sandbox')
})

t.test('tampered copies are refused', async (t) => {
  await assertRefused(t, segiddins().attest(tamper(rubygems)), 'signature_invalid', /^the token signature is invalid$/)
  await assertRefused(t, sandbox().attest(tamper(qoomon)), 'signature_invalid', /^the token signature is invalid$/)
  const [header, payload] = qoomon.split('.') as [string, string, string]
  const [, , rubygemsSignature] = rubygems.split('.') as [string, string, string]
  await assertRefused(
    t,
    sandbox().attest(`${header}.${payload}.${rubygemsSignature}`),
    'signature_invalid',
    /^the token signature is invalid$/,
  )
})

t.test("the same claims signed by our own key under GitHub's kid are refused", async (t) => {
  const ours = await makeKey('RS256', '78167F727DEC5D801DD1C8784C704A1C880EC0E1')
  const claims = JSON.parse(Buffer.from(qoomon.split('.')[1], 'base64url').toString('utf8'))
  await assertRefused(t, sandbox().attest(await signToken(ours, claims)), 'signature_invalid', /^the token signature is invalid$/)
})

t.test('each sample is refused when its audience, time or algorithm is not right', async (t) => {
  await assertRefused(
    t,
    attestor({ ownerIds: ['3963394'] }, 'seed-sts', QOOMON_IAT + 60).attest(qoomon),
    'audience_mismatch',
    /^the token is addressed to "sts.amazonaws.com", not to "seed-sts"$/,
  )
  await assertRefused(
    t,
    sandbox(undefined, QOOMON_IAT + 300 + 60).attest(qoomon),
    'token_expired',
    /^the token expired at 2023-10-01T12:50:47.000Z$/,
  )
  await assertRefused(
    t,
    sandbox(undefined, Math.floor(Date.now() / 1000)).attest(qoomon),
    'token_expired',
    /^the token expired at 2023-10-01T12:50:47.000Z$/,
  )
  await assertRefused(
    t,
    sandbox(undefined, QOOMON_IAT - 700).attest(qoomon),
    'token_not_yet_valid',
    /^the token is not valid before 2023-10-01T12:35:47.000Z$/,
  )
  await assertRefused(
    t,
    sandbox({ ownerIds: ['3963394'], algorithms: ['PS256'] }).attest(qoomon),
    'algorithm_not_accepted',
    /^the token algorithm "RS256" is not accepted \(accepted: PS256\)$/,
  )
  await assertRefused(
    t,
    sandbox({ ownerIds: ['3963394'], name: 'ghes', issuer: 'https://ghes.example.org/_services/token' }).attest(qoomon),
    'issuer_mismatch',
    /^the token issuer "https:\/\/token.actions.githubusercontent.com" is not "https:\/\/ghes.example.org\/_services\/token"$/,
  )
  await assertRefused(
    t,
    sandbox({ ownerIds: ['3963394'], maxTokenLifetimeSeconds: 299 }).attest(qoomon),
    'token_lifetime_too_long',
    /^the token is valid for 300 seconds, longer than the 299 seconds accepted from this issuer$/,
  )
})
