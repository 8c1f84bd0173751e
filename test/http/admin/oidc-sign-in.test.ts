import t from 'tap'
import type { Test } from 'tap'
import { fakeIdentityProvider, type FakeIdentityProvider } from '../../support/identity-provider.js'
import { ADMIN_TOKEN, NOW, startTestService, TRUST_DOMAIN, type TestServiceOptions } from '../../support/service.js'

/**
 * People sign in to the admin API with their identity provider's tokens (issue 13, item 4): every
 * refusal below is paired with the accepted token it differs from by one thing, so a removed check fails.
 */

const NOW_S = Math.floor(NOW / 1000)
const NS = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns`
const PAY = `${NS}/pay`
const TEAM_ROLES = ['admin-tokens:write', 'grants:read', 'grants:write', 'ledger:read']

function oidcConfig(idp: FakeIdentityProvider, extra: Record<string, unknown> = {}) {
  return {
    issuer: idp.issuer,
    audience: idp.audience,
    groups: {
      'sts-admins': { roles: ['grants:read', 'grants:write', 'audit:read', 'admin-tokens:write'], unrestricted: true },
      'sts-auditors': { roles: ['audit:read'], unrestricted: true },
      'team-pay': { roles: TEAM_ROLES, scope: { owners: ['team-pay'], subjectPrefixes: [PAY] } },
    },
    ...extra,
  }
}

async function setUp(t: Test, backend: 'real' | 'embedded', options: TestServiceOptions = {}, extra: Record<string, unknown> = {}) {
  const idp = await fakeIdentityProvider(NOW_S)
  const { config, ...rest } = options
  const sts = await startTestService(t, {
    backend,
    fetchJwks: idp.fetch,
    ...rest,
    config: {
      limits: { adminRequestsPerMinute: 0, adminAuthFailuresPerMinute: 0 },
      admin: { token: ADMIN_TOKEN, oidc: oidcConfig(idp, extra) },
      ...config,
    },
  })
  const call = (method: 'GET' | 'POST', url: string, token: string, payload?: object) =>
    sts.app.inject({ method, url, headers: { authorization: `Bearer ${token}` }, ...(payload ? { payload } : {}) })
  return { sts, idp, call }
}

const refusal = (detail: string) => ({
  type: 'about:blank',
  title: 'Unauthorized',
  status: 401,
  detail: `the identity provider's token is not accepted: ${detail}`,
  instance: '/v1/grants',
  reason: 'oidc_token_invalid',
})

for (const backend of ['real', 'embedded'] as const) {
  t.test(`${backend}: a token of the provider is accepted only when every check passes`, async (t) => {
    const { call, idp } = await setUp(t, backend)
    const accepted = await call('GET', '/v1/grants', await idp.token())
    t.equal(accepted.statusCode, 200, 'the token every refusal below differs from by one thing')
    t.same(idp.fetched, [`${idp.issuer}/.well-known/openid-configuration`, idp.jwksUri], 'the JWKS is found through discovery')
    t.equal((await call('GET', '/v1/grants', await idp.token({}, { typ: 'at+jwt' }))).statusCode, 200, 'an RFC 9068 access token')

    const cases: [string, string, string][] = [
      [
        'another issuer',
        await idp.token({ iss: 'https://evil.example.test' }),
        'the token issuer "https://evil.example.test" is not "https://login.example.test"',
      ],
      [
        'another audience',
        await idp.token({ aud: 'some-other-app' }),
        'the token is addressed to "some-other-app", not to "seed-sts-admin"',
      ],
      [
        'expired beyond the skew',
        await idp.token({ iat: NOW_S - 3700, exp: NOW_S - 61 }),
        `the token expired at ${new Date((NOW_S - 61) * 1000).toISOString()}`,
      ],
      [
        'not valid yet',
        await idp.token({ nbf: NOW_S + 120 }),
        `the token is not valid before ${new Date((NOW_S + 120) * 1000).toISOString()}`,
      ],
      [
        'too long-lived',
        await idp.token({ exp: NOW_S + 2 * 86_400 }),
        'the token is valid for 172860 seconds, longer than the 86400 seconds accepted from this issuer',
      ],
      [
        'an unpublished key',
        await idp.token({}, {}, idp.stranger),
        'no key with kid "idp-unpublished" is trusted for issuer "https://login.example.test"',
      ],
      ['a published kid, another key', await idp.token({}, { kid: 'idp-1' }, idp.stranger), 'the token signature is invalid'],
      ['alg none', idp.unsigned(), 'the token algorithm "none" is not accepted (accepted: RS256, ES256)'],
      [
        'HS256 keyed with the public JWK',
        idp.hmac(JSON.stringify(idp.key.jwk)),
        'the token algorithm "HS256" is not accepted (accepted: RS256, ES256)',
      ],
      [
        'a logout token',
        await idp.token({}, { typ: 'logout+jwt' }),
        `its type ("typ") "logout+jwt" is neither an ID token's (JWT) nor an access token's (at+jwt)`,
      ],
    ]
    for (const [what, token, detail] of cases) {
      const refused = await call('GET', '/v1/grants', token)
      t.same(
        [refused.statusCode, refused.headers['www-authenticate'], refused.json()],
        [401, 'Bearer realm="seed-sts-admin"', refusal(detail)],
        what,
      )
    }
    const [header, payload, signature] = (await idp.token()).split('.')
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), groups: ['sts-admins', 'x'] }),
    ).toString('base64url')
    t.same(
      (await call('GET', '/v1/grants', `${header}.${forged}.${signature}`)).json(),
      refusal('the token signature is invalid'),
      'a changed claim',
    )
  })

  t.test(`${backend}: groups map to roles; none mapped is 403; the audit log names the person`, async (t) => {
    const { call, idp, sts } = await setUp(t, backend)
    const unmapped = await call('GET', '/v1/grants', await idp.token({ groups: ['engineering', 'everyone'] }))
    t.same(
      [unmapped.statusCode, unmapped.json()],
      [
        403,
        {
          type: 'about:blank',
          title: 'Forbidden',
          status: 403,
          detail: 'oidc:alice signed in, but none of its 2 groups (claim groups) is mapped to roles in admin.oidc.groups',
          instance: '/v1/grants',
          reason: 'oidc_groups_unmapped',
        },
      ],
    )
    const auditor = await idp.token({ sub: 'bob', groups: ['sts-auditors', 'engineering'] })
    t.equal((await call('GET', '/v1/audit', auditor)).statusCode, 200, "the auditors' role")
    const denied = await call('GET', '/v1/grants', auditor)
    t.same(
      [denied.statusCode, denied.json().reason, denied.json().detail],
      [403, 'role_missing', 'the admin token oidc:bob does not have the role grants:read'],
    )

    const admin = await idp.token()
    const made = await call('POST', '/v1/grants', admin, {
      subject: `${NS}/ledger/sa/api`,
      audiences: ['ledger-api'],
      owner: 'team-ledger',
    })
    t.equal(made.statusCode, 201)
    const entries = (await call('GET', `/v1/audit?targetId=${made.json().id}`, sts.admin.authorization.slice(7))).json().entries
    t.same(
      entries.map((e: { actor: string; action: string }) => [e.actor, e.action]),
      [['oidc:alice', 'grant.create']],
    )
    const byActor = (await call('GET', '/v1/audit?actor=oidc:alice', admin)).json().entries
    t.same(
      byActor.map((e: { targetId: string }) => e.targetId),
      [made.json().id],
      'found by its actor name',
    )
  })

  t.test(`${backend}: a team's group scopes the person as a team-scoped admin token is`, async (t) => {
    const { call, idp, sts } = await setUp(t, backend)
    const own = await sts.createGrant({ subject: `${PAY}/sa/*`, audiences: ['ledger-api'], owner: 'team-pay' })
    await sts.createGrant({ subject: `${NS}/payments/sa/*`, audiences: ['ledger-api'], owner: 'team-pay' })
    await sts.createGrant({ subject: `${PAY}/sa/api`, audiences: ['ledger-api'], owner: 'team-other' })
    const carol = await idp.token({ sub: 'carol', groups: ['team-pay'] })
    t.same(
      (await call('GET', '/v1/grants', carol)).json().grants.map((g: { id: string }) => g.id),
      [own.id],
      'only its team',
    )
    t.equal((await call('GET', '/v1/grants', await idp.token())).json().grants.length, 3, 'an unrestricted person sees all')
    const outside = await call('POST', '/v1/grants', carol, { subject: `${NS}/payments/sa/x`, audiences: ['a'], owner: 'team-pay' })
    t.same([outside.statusCode, outside.json().reason], [403, 'out_of_team_scope'])

    const token = (name: string, scope?: object) =>
      call('POST', '/v1/admin-tokens', carol, { name, roles: ['grants:read'], ...(scope ? { scope } : {}) })
    const results = [
      await token('pay-ci', { owners: ['team-pay'], subjectPrefixes: [`${PAY}/sa`] }),
      await token('pay-wider', { owners: ['team-pay'], subjectPrefixes: [NS] }),
      await token('pay-unscoped'),
    ]
    t.same(
      results.map((r) => [r.statusCode, r.json().reason]),
      [
        [201, undefined],
        [403, 'scope_beyond_own'],
        [403, 'scope_beyond_own'],
      ],
    )
    t.same(results[0].json().adminToken.createdBy, 'oidc:carol')
    const listed = (await call('GET', '/v1/admin-tokens', carol)).json().adminTokens.map((a: { name: string }) => a.name)
    t.same(listed, ['pay-ci'])
  })
}

t.test('a configured jwksUri is used without discovery; a discovery document for another issuer is never trusted', async (t) => {
  const direct = await setUp(t, 'embedded', {}, { jwksUri: 'https://login.example.test/oauth2/keys' })
  t.equal((await direct.call('GET', '/v1/grants', await direct.idp.token())).statusCode, 200)
  t.same(direct.idp.fetched, [direct.idp.jwksUri])

  const { call, idp } = await setUp(t, 'embedded')
  idp.discovery = { issuer: 'https://login.other.test', jwks_uri: idp.jwksUri }
  const refused = await call('GET', '/v1/grants', await idp.token())
  t.same(
    [refused.statusCode, refused.json().reason, refused.json().detail],
    [503, 'jwks_unavailable', 'the discovery document of issuer "https://login.example.test" cannot be read right now'],
  )
  t.same(idp.fetched, [`${idp.issuer}/.well-known/openid-configuration`], 'its jwks_uri is not followed')
})

t.test('refused sign-ins spend the failed-authentication budget; neither token reaches the log', async (t) => {
  const lines: string[] = []
  const { call, idp, sts } = await setUp(t, 'real', {
    logLines: lines,
    config: { limits: { adminRequestsPerMinute: 0, adminAuthFailuresPerMinute: 2 } },
  })
  const good = await idp.token()
  const bad = await idp.token({ aud: 'some-other-app' })
  t.equal((await call('GET', '/v1/grants', good)).statusCode, 200)
  t.equal((await call('GET', '/v1/grants', bad)).statusCode, 401)
  t.equal((await call('GET', '/v1/grants', good)).statusCode, 200, 'one failure is within the budget')
  t.equal((await call('GET', '/v1/grants', bad)).statusCode, 401)
  const spent = await call('GET', '/v1/grants', good)
  t.same([spent.statusCode, spent.json().reason], [429, 'too_many_auth_failures'], 'the address is refused, the right token too')
  t.equal(
    (await sts.app.inject({ method: 'GET', url: '/v1/grants', headers: { authorization: `Bearer ${good}` }, remoteAddress: '10.0.0.9' }))
      .statusCode,
    200,
  )
  const log = lines.join('\n')
  for (const token of [good, bad]) for (const part of token.split('.')) t.notOk(log.includes(part), 'no part of a token is logged')
  t.match(
    lines.map((line) => JSON.parse(line)).filter((line) => line.msg === 'admin request refused'),
    [
      { level: 40, reason: 'oidc_token_invalid', description: /is addressed to "some-other-app"/ },
      { level: 40, reason: 'oidc_token_invalid' },
    ],
  )
})

t.test('without admin.oidc a JWT is just an unknown admin token', async (t) => {
  const idp = await fakeIdentityProvider(NOW_S)
  const sts = await startTestService(t, { backend: 'embedded', fetchJwks: idp.fetch })
  const refused = await sts.app.inject({ method: 'GET', url: '/v1/grants', headers: { authorization: `Bearer ${await idp.token()}` } })
  t.same([refused.statusCode, refused.json().reason], [401, 'admin_token_invalid'])
  t.same(idp.fetched, [])
})
