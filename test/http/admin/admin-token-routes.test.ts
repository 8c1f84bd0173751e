import t from 'tap'
import { startTestService, TRUST_DOMAIN } from '../../support/service.js'

t.test('scoped admin tokens: made once, limited to their roles, revocable, audited', async (t) => {
  const sts = await startTestService(t)
  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, authorization: string, payload?: object) =>
    sts.app.inject({ method, url, headers: { authorization }, ...(payload ? { payload } : {}) })
  const bootstrap = sts.admin.authorization

  const created = await call('POST', '/v1/admin-tokens', bootstrap, {
    name: 'ledger-resource-server',
    roles: ['introspect', 'revocations:read'],
  })
  t.equal(created.statusCode, 201)
  t.equal(created.headers['cache-control'], 'no-store')
  const { adminToken, token } = created.json()
  t.match(token, /^sts_admin_[A-Za-z0-9_-]{43}$/)
  t.match(adminToken, {
    name: 'ledger-resource-server',
    roles: ['introspect', 'revocations:read'],
    createdBy: 'bootstrap',
    revokedAt: null,
  })
  const listed = (await call('GET', '/v1/admin-tokens', bootstrap)).json()
  t.same(listed.adminTokens, [adminToken], 'listed without its secret')
  t.notOk(JSON.stringify(listed).includes(token))

  const scoped = `Bearer ${token}`
  t.equal((await call('GET', '/v1/revocations', scoped)).statusCode, 200, 'a role it has')
  const forbidden = await call('GET', '/v1/grants', scoped)
  t.equal(forbidden.statusCode, 403, 'a role it lacks')
  t.match(forbidden.json(), {
    title: 'Forbidden',
    detail: 'the admin token ledger-resource-server does not have the role grants:read',
    reason: 'role_missing',
  })
  t.equal(
    (await call('POST', '/v1/revocations', scoped, { kind: 'source', value: 'k8s:prod', reason: 'x' })).statusCode,
    403,
    'reading is not writing',
  )
  t.equal(
    (await call('POST', '/v1/admin-tokens', scoped, { name: 'escalate', roles: ['grants:write'] })).statusCode,
    403,
    'no admin-tokens role, no tokens',
  )
  const minter = (await call('POST', '/v1/admin-tokens', bootstrap, { name: 'minter', roles: ['admin-tokens:write', 'introspect'] })).json()
    .token
  const escalation = await call('POST', '/v1/admin-tokens', `Bearer ${minter}`, { name: 'escalate', roles: ['introspect', 'grants:write'] })
  t.equal(escalation.statusCode, 403, 'no token can make a more powerful one')
  t.match(escalation.json(), {
    detail: 'the admin token minter cannot grant roles it does not have: grants:write',
    reason: 'roles_beyond_own',
  })
  t.equal(
    (await call('POST', '/v1/admin-tokens', `Bearer ${minter}`, { name: 'introspector', roles: ['introspect'] })).statusCode,
    201,
    'its own roles it can pass on',
  )

  const duplicate = await call('POST', '/v1/admin-tokens', bootstrap, { name: 'ledger-resource-server', roles: ['introspect'] })
  t.equal(duplicate.statusCode, 409)
  t.equal(duplicate.json().reason, 'admin_token_name_taken')

  const revoked = await call('DELETE', `/v1/admin-tokens/${adminToken.id}`, bootstrap)
  t.equal(revoked.statusCode, 200)
  t.match(revoked.json().adminToken, { revokedBy: 'bootstrap' })
  sts.clock.advance(5001)
  t.equal((await call('GET', '/v1/revocations', scoped)).statusCode, 401, 'a revoked token stops working (within the lookup cache time)')

  const expiring = await call('POST', '/v1/admin-tokens', bootstrap, {
    name: 'break-glass',
    roles: ['grants:read'],
    expiresAt: new Date(sts.clock.now() + 60_000).toISOString(),
  })
  const expiringToken = `Bearer ${expiring.json().token}`
  t.equal((await call('GET', '/v1/grants', expiringToken)).statusCode, 200)
  sts.clock.advance(65_001)
  t.equal((await call('GET', '/v1/grants', expiringToken)).statusCode, 401, 'an expired token stops working')

  const bad = await call('POST', '/v1/admin-tokens', bootstrap, { name: 'Has Spaces', roles: ['everything'] })
  t.same(
    bad.json().errors.map((e: { path: string }) => e.path),
    ['name', 'roles.0'],
  )

  const audit = (await call('GET', '/v1/audit?targetType=admin-token', bootstrap)).json()
  t.same(
    audit.entries.map((e: { action: string; actor: string }) => [e.action, e.actor]),
    [
      ['admin-token.create', 'bootstrap'],
      ['admin-token.create', 'bootstrap'],
      ['admin-token.create', 'minter'],
      ['admin-token.revoke', 'bootstrap'],
      ['admin-token.create', 'bootstrap'],
    ],
  )
  t.notOk(JSON.stringify(audit).includes(token), 'the audit log never holds a secret')
})

t.test('the audit log answers who changed what, with a cursor, for tokens with audit:read', async (t) => {
  const sts = await startTestService(t)
  const bootstrap = sts.admin.authorization
  const grant = await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`,
    audiences: ['ledger-api'],
    owner: 'team-payments',
  })
  await sts.app.inject({ method: 'DELETE', url: `/v1/grants/${grant.id}`, headers: sts.admin })
  await sts.app.inject({
    method: 'POST',
    url: '/v1/revocations',
    headers: sts.admin,
    payload: { kind: 'grant', value: grant.id, reason: 'misconfigured' },
  })

  const first = await sts.app.inject({ method: 'GET', url: '/v1/audit?limit=3', headers: { authorization: bootstrap } })
  t.equal(first.statusCode, 200)
  const page = first.json()
  t.same(
    page.entries.map((e: { action: string }) => e.action),
    // The first signing key, made at the first start, comes first.
    ['key.create', 'grant.create', 'grant.disable'],
  )
  t.match(page.entries[2], {
    actor: 'bootstrap',
    targetType: 'grant',
    targetId: grant.id,
    before: { enabled: true },
    after: { enabled: false },
    requestId: String,
  })
  const rest = (
    await sts.app.inject({ method: 'GET', url: `/v1/audit?cursor=${page.nextCursor}`, headers: { authorization: bootstrap } })
  ).json()
  t.same(
    rest.entries.map((e: { action: string }) => e.action),
    ['revocation.create'],
  )
  t.notOk('nextCursor' in rest)
  const byTarget = (
    await sts.app.inject({ method: 'GET', url: `/v1/audit?targetId=${grant.id}`, headers: { authorization: bootstrap } })
  ).json()
  t.equal(byTarget.entries.length, 2)

  const reader = await sts.app.inject({
    method: 'POST',
    url: '/v1/admin-tokens',
    headers: { authorization: bootstrap },
    payload: { name: 'auditor', roles: ['audit:read'] },
  })
  const auditor = { authorization: `Bearer ${reader.json().token}` }
  t.equal((await sts.app.inject({ method: 'GET', url: '/v1/audit', headers: auditor })).statusCode, 200)
  t.equal((await sts.app.inject({ method: 'GET', url: '/v1/ledger', headers: auditor })).statusCode, 403)
})
