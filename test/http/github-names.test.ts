import t from 'tap'
import { GITHUB_ISSUER } from '../../src/attestors/github/config.js'
import { jwks, makeKey, signToken } from '../support/attestors/jwt-attestations.js'
import { STS_AUDIENCE } from '../support/cluster.js'
import { JWT_TOKEN_TYPE, NOW, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN } from '../support/service.js'

/**
 * One GitHub repository, one identity, whatever case its token spells the names in; and github.com
 * beside an enterprise issuer, each under its own namespace. End to end with real Postgres and Redis.
 */

const key = await makeKey('RS256', 'gh-1')
const now = Math.floor(NOW / 1000)
const ENTERPRISE = `${GITHUB_ISSUER}/acme-corp`
const token = (claims: Record<string, unknown> = {}) =>
  signToken(key, {
    iss: GITHUB_ISSUER,
    aud: STS_AUDIENCE,
    sub: 'repo:ACME/Api:ref:refs/heads/main',
    jti: `jti-${Math.random()}`,
    repository: 'ACME/Api',
    repository_owner: 'ACME',
    repository_owner_id: '1946610',
    repository_id: '620393838',
    ref: 'refs/heads/main',
    iat: now - 60,
    nbf: now - 660,
    exp: now + 240,
    ...claims,
  })
const github = (fields: Record<string, unknown> = {}) => ({ kind: 'github', owners: ['acme'], jwks: jwks(key), ...fields })
const claimsOf = (accessToken: unknown): Record<string, unknown> =>
  JSON.parse(Buffer.from(String(accessToken).split('.')[1], 'base64url').toString())

t.test('a token for ACME/Api gets the lower-case identity, and is refused once github:acme/api is revoked', async (t) => {
  const sts = await startTestService(t, { config: { attestors: [github(), github({ name: 'acme-corp', issuer: ENTERPRISE })] } })
  const exchange = async (claims?: Record<string, unknown>) =>
    sts.exchange({ grant_type: TOKEN_EXCHANGE, subject_token: await token(claims), subject_token_type: JWT_TOKEN_TYPE, audience: 'deploy' })
  // An operator writing GitHub's spelling gets the one the service mints.
  const grant = await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/github/ACME/Api`,
    conditions: { repository: 'ACME/Api', ref: 'refs/heads/main' },
    audiences: ['deploy'],
    owner: 'team-release',
  })
  t.match(grant, { subject: `spiffe://${TRUST_DOMAIN}/github/acme/api`, conditions: { repository: 'acme/api', ref: 'refs/heads/main' } })

  const issued = await exchange()
  t.equal(issued.statusCode, 200, JSON.stringify(issued.body))
  const claims = claimsOf(issued.body.access_token)
  t.equal(claims.sub, `spiffe://${TRUST_DOMAIN}/github/acme/api`)
  t.match(await sts.services.ledger.get(String(claims.jti)), {
    subject: `spiffe://${TRUST_DOMAIN}/github/acme/api`,
    sources: ['github:acme', 'github:repository_owner_id:1946610', 'github:acme/api', 'github:repository_id:620393838'],
  })

  const search = await sts.app.inject({
    method: 'GET',
    url: `/v1/ledger?source=github:ACME/Api&subject=spiffe://${TRUST_DOMAIN}/github/ACME/*`,
    headers: sts.admin,
  })
  t.same(
    search.json().entries.map((entry: { jti: string }) => entry.jti),
    [claims.jti],
    'the ledger is searched in the minted spelling',
  )

  // The enterprise issuer's token for the same repository is another identity: github.com's grant does not answer it.
  t.same((await exchange({ iss: ENTERPRISE })).body, {
    error: 'invalid_grant',
    error_description: `no grant allows spiffe://${TRUST_DOMAIN}/acme-corp/acme/api to get a token`,
    error_reason: 'not_granted',
  })

  const revoked = await sts.app.inject({
    method: 'POST',
    url: '/v1/revocations',
    headers: sts.admin,
    payload: { kind: 'source', value: 'github:acme/api', reason: 'incident 4711' },
  })
  t.equal(revoked.statusCode, 201, revoked.body)
  t.equal(revoked.json().liveTokensCutOff, 1)
  for (const spelling of [{}, { repository: 'acme/api', repository_owner: 'acme' }, { repository: 'Acme/API', repository_owner: 'Acme' }]) {
    t.same(
      (await exchange(spelling)).body,
      { error: 'invalid_grant', error_description: 'the attestation source github:acme/api is revoked', error_reason: 'revoked' },
      JSON.stringify(spelling),
    )
  }
  const subject = await sts.app.inject({
    method: 'POST',
    url: '/v1/revocations',
    headers: sts.admin,
    payload: { kind: 'subject', value: `spiffe://${TRUST_DOMAIN}/github/ACME/*`, reason: 'incident 4711' },
  })
  t.match(
    subject.json(),
    { revocation: { kind: 'subject', value: `spiffe://${TRUST_DOMAIN}/github/acme/*` } },
    "a revocation typed in GitHub's spelling is stored in the minted one",
  )
  t.same((await exchange()).body, {
    error: 'invalid_grant',
    error_description: `the identity spiffe://${TRUST_DOMAIN}/github/acme/* is revoked`,
    error_reason: 'revoked',
  })
})
