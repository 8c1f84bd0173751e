import t from 'tap'
import type { Test } from 'tap'
import { openSse } from '../../support/sse.js'
import {
  ADMIN_TOKEN,
  JWT_TOKEN_TYPE,
  NOW,
  startTestService,
  TOKEN_EXCHANGE,
  TRUST_DOMAIN,
  type TestService,
} from '../../support/service.js'

/**
 * Grants owned by teams (issue 13, item 4): an admin token scoped to owners and subject prefixes
 * reads and changes only its team's grants, ledger and revocations, and cannot widen itself. Every
 * refusal below is paired with the same request in scope being allowed, so a removed check fails.
 */

const NS = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns`
const PAY = `${NS}/pay`
const TEAM_SCOPE = { owners: ['team-pay'], subjectPrefixes: [PAY] }
const TEAM_ROLES = ['admin-tokens:write', 'grants:read', 'grants:write', 'ledger:read', 'revocations:read', 'revocations:write']
const DAY = 86_400_000
const SCOPE_TEXT = `acts for owners team-pay and subjects under ${PAY} (a prefix covers itself and what lies below it after a /)`

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE'

async function setUp(t: Test, backend: 'real' | 'embedded') {
  const sts = await startTestService(t, { backend, config: { limits: { adminRequestsPerMinute: 0 } } })
  const call = (method: Method, url: string, authorization: string, payload?: object, headers: Record<string, string> = {}) =>
    sts.app.inject({ method, url, headers: { authorization, ...headers }, ...(payload ? { payload } : {}) })
  const made = await call('POST', '/v1/admin-tokens', sts.admin.authorization, { name: 'team-pay', roles: TEAM_ROLES, scope: TEAM_SCOPE })
  if (made.statusCode !== 201) throw new Error(made.body)
  return { sts, call, team: `Bearer ${made.json().token}`, teamToken: made.json().adminToken }
}

async function exchange(sts: TestService, namespace: string): Promise<string> {
  const attestation = await sts.cluster.serviceAccountToken({ namespace, serviceAccount: 'api' })
  const response = await sts.exchange({ grant_type: TOKEN_EXCHANGE, subject_token: attestation, subject_token_type: JWT_TOKEN_TYPE })
  if (response.statusCode !== 200) throw new Error(`no token: ${JSON.stringify(response.body)}`)
  return JSON.parse(Buffer.from(String(response.body.access_token).split('.')[1], 'base64url').toString('utf8')).jti
}

for (const backend of ['real', 'embedded'] as const) {
  t.test(`${backend}: a team's token manages only its grants`, async (t) => {
    const { sts, call, team } = await setUp(t, backend)
    const grant = (subject: string, owner: string) => ({ subject, audiences: ['ledger-api'], owner })
    const own = (await sts.createGrant(grant(`${PAY}/sa/*`, 'team-pay'))) as { id: string }
    const payments = (await sts.createGrant(grant(`${NS}/payments/sa/*`, 'team-pay'))) as { id: string }
    const other = (await sts.createGrant(grant(`${PAY}/sa/api`, 'team-other'))) as { id: string }

    const listed = await call('GET', '/v1/grants', team)
    t.same(
      listed.json().grants.map((g: { id: string }) => g.id),
      [own.id],
      "another prefix (a longer segment) and another owner's grants are left out",
    )
    const all = await call('GET', '/v1/grants', sts.admin.authorization)
    t.same(
      all
        .json()
        .grants.map((g: { id: string }) => g.id)
        .sort(),
      [own.id, payments.id, other.id].sort(),
      'the bootstrap token sees all',
    )
    t.same((await call('GET', '/v1/grants?owner=team-other', team)).json().grants, [], 'a filter cannot reach past the scope')

    t.equal((await call('GET', `/v1/grants/${own.id}`, team)).statusCode, 200)
    const read = await call('GET', `/v1/grants/${payments.id}`, team)
    t.equal(read.statusCode, 403)
    t.match(read.json(), {
      status: 403,
      reason: 'out_of_team_scope',
      detail: `the admin token team-pay ${SCOPE_TEXT}: grant ${payments.id} has owner team-pay and subject ${NS}/payments/sa/*`,
    })

    const create = (subject: string, owner = 'team-pay') => call('POST', '/v1/grants', team, grant(subject, owner))
    const created = [
      await create(`${PAY}/sa/worker`),
      await create(PAY),
      await create(`${PAY}/**`),
      await create(`${NS}/payments/sa/worker`),
      await create(`${NS}/pay*`),
      await create(`${NS}/**`),
      await create(`${NS}/p?y/sa/api`),
      await create(`${PAY}/sa/worker`, 'team-other'),
    ]
    t.same(
      created.map((r) => r.statusCode),
      [201, 201, 201, 403, 403, 403, 403, 403],
    )
    t.equal(created[4].json().detail, `the admin token team-pay ${SCOPE_TEXT}: the grant has owner team-pay and subject ${NS}/pay*`)

    const replace = async (id: string, body: object) => {
      const current = await call('GET', `/v1/grants/${id}`, sts.admin.authorization)
      return call('PUT', `/v1/grants/${id}`, team, { ...current.json(), ...body }, { 'if-match': String(current.headers.etag) })
    }
    t.same(
      [
        (await replace(own.id, { subject: `${NS}/payments/sa/*` })).statusCode,
        (await replace(own.id, { owner: 'team-other' })).statusCode,
        (await replace(other.id, { owner: 'team-pay' })).statusCode,
        (await replace(payments.id, { subject: `${PAY}/sa/x` })).statusCode,
        (await replace(own.id, { description: 'the API pods' })).statusCode,
      ],
      [403, 403, 403, 403, 200],
      'neither widened, nor handed away, nor taken over; changed within the scope',
    )

    t.same(
      [
        (await call('DELETE', `/v1/grants/${other.id}`, team)).statusCode,
        (await call('DELETE', `/v1/grants/${payments.id}`, team)).statusCode,
        (await call('DELETE', `/v1/grants/${own.id}`, team)).statusCode,
      ],
      [403, 403, 200],
    )
    const enabled = async (id: string) => (await call('GET', `/v1/grants/${id}`, sts.admin.authorization)).json().enabled
    t.same(
      [await enabled(own.id), await enabled(payments.id), await enabled(other.id)],
      [false, true, true],
      'only its own grant was disabled',
    )
  })

  t.test(`${backend}: a team's token sees and revokes its identities only`, async (t) => {
    const { sts, call, team } = await setUp(t, backend)
    const payGrant = await sts.createGrant({ subject: `${PAY}/sa/*`, audiences: ['ledger-api'], owner: 'team-pay' })
    const paymentsGrant = await sts.createGrant({ subject: `${NS}/payments/sa/*`, audiences: ['ledger-api'], owner: 'team-pay' })
    const payJti = await exchange(sts, 'pay')
    const paymentsJti = await exchange(sts, 'payments')

    const ledger = await call('GET', '/v1/ledger', team)
    t.same(
      ledger.json().entries.map((e: { jti: string }) => e.jti),
      [payJti],
      "another team's tokens are left out",
    )
    t.same(
      (await call('GET', `/v1/ledger?subject=${encodeURIComponent(`${NS}/**`)}`, team)).json().entries.map((e: { jti: string }) => e.jti),
      [payJti],
      'a wider search is still cut to the scope',
    )
    t.equal((await call('GET', '/v1/ledger', sts.admin.authorization)).json().entries.length, 2)

    // The inventory likewise: the list cut to the scope, another team's identity refused by name.
    await sts.services.inventoryRecorder.flush()
    const subjects = async (authorization: string, query = '') =>
      (await call('GET', `/v1/identities${query}`, authorization)).json().identities.map((i: { subject: string }) => i.subject)
    t.same(await subjects(team), [`${PAY}/sa/api`], "another team's identities are left out")
    t.same(
      await subjects(team, `?subject=${encodeURIComponent(`${NS}/**`)}`),
      [`${PAY}/sa/api`],
      'a wider search is still cut to the scope',
    )
    t.same(await subjects(sts.admin.authorization), [`${NS}/pay/sa/api`, `${NS}/payments/sa/api`])
    const own = await call('GET', `/v1/identity?subject=${encodeURIComponent(`${PAY}/sa/api`)}`, team)
    t.equal(own.statusCode, 200)
    const theirIdentity = await call('GET', `/v1/identity?subject=${encodeURIComponent(`${NS}/payments/sa/api`)}`, team)
    t.same(
      [theirIdentity.statusCode, theirIdentity.json().reason, theirIdentity.json().detail],
      [403, 'out_of_team_scope', `the admin token team-pay ${SCOPE_TEXT}: the identity ${NS}/payments/sa/api is not under its prefixes`],
    )

    const revoke = (authorization: string, kind: string, value: string) =>
      call('POST', '/v1/revocations', authorization, { kind, value, reason: 'INC-9' })
    // The bootstrap token's revocations of the other team and of what spans every team.
    const theirs = [
      (await revoke(sts.admin.authorization, 'subject', `${NS}/payments/sa/api`)).json().revocation,
      (await revoke(sts.admin.authorization, 'token', paymentsJti)).json().revocation,
      (await revoke(sts.admin.authorization, 'grant', paymentsGrant.id as string)).json().revocation,
      (await revoke(sts.admin.authorization, 'source', 'k8s:prod:node:node-z')).json().revocation,
      (await revoke(sts.admin.authorization, 'subject', `${NS}/**`)).json().revocation,
    ]
    const attempts = [
      await revoke(team, 'subject', `${PAY}/sa/api`),
      await revoke(team, 'token', payJti),
      await revoke(team, 'grant', payGrant.id as string),
      await revoke(team, 'subject', `${NS}/payments/sa/x`),
      await revoke(team, 'subject', `${NS}/pay*`),
      await revoke(team, 'token', paymentsJti),
      await revoke(team, 'token', '0190a1b2-0000-7000-8000-000000000000'),
      await revoke(team, 'grant', paymentsGrant.id as string),
      await revoke(team, 'source', 'k8s:prod'),
    ]
    t.same(
      attempts.map((r) => r.statusCode),
      [201, 201, 201, 403, 403, 403, 403, 403, 403],
    )
    t.equal(
      attempts[8].json().detail,
      `the admin token team-pay ${SCOPE_TEXT}: the revocation is of a source, which spans every team: that needs an admin token without a scope`,
    )
    t.equal(
      attempts[5].json().detail,
      `the admin token team-pay ${SCOPE_TEXT}: the revocation is of token ${paymentsJti}, which the ledger does not show for an identity under its prefixes`,
    )
    const mine = attempts.slice(0, 3).map((r) => r.json().revocation)

    const listed = await call('GET', '/v1/revocations', team)
    t.same(
      listed.json().revocations.map((r: { id: string }) => r.id),
      mine.map((r) => r.id),
      "another team's revocations and those spanning every team are left out",
    )
    t.equal((await call('GET', '/v1/revocations', sts.admin.authorization)).json().revocations.length, 8)

    t.equal((await call('GET', `/v1/revocations/${mine[0].id}`, team)).statusCode, 200)
    t.same(
      await Promise.all(theirs.map(async (r) => (await call('GET', `/v1/revocations/${r.id}`, team)).statusCode)),
      [403, 403, 403, 403, 403],
    )
    const lift = (authorization: string, id: string) => call('DELETE', `/v1/revocations/${id}`, authorization, { reason: 'fixed' })
    t.same(
      [(await lift(team, theirs[0].id)).statusCode, (await lift(team, theirs[3].id)).statusCode, (await lift(team, mine[0].id)).statusCode],
      [403, 403, 200],
    )
    t.equal(
      (await call('GET', `/v1/revocations/${theirs[0].id}`, sts.admin.authorization)).json().revocation.liftedAt,
      null,
      "another team's revocation stands",
    )
  })

  t.test(`${backend}: a team's token cannot widen itself through the tokens it makes, lists or revokes`, async (t) => {
    const { sts, call, team, teamToken } = await setUp(t, backend)
    const make = (authorization: string, name: string, body: object) =>
      call('POST', '/v1/admin-tokens', authorization, { name, roles: ['grants:read'], ...body })
    const narrower = await make(team, 'pay-api', { scope: { owners: ['team-pay'], subjectPrefixes: [`${PAY}/sa/api`] } })
    t.equal(narrower.statusCode, 201)
    const refusals = [
      await make(team, 'wider-prefix', { scope: { owners: ['team-pay'], subjectPrefixes: [NS] } }),
      await make(team, 'neighbour', { scope: { owners: ['team-pay'], subjectPrefixes: [`${NS}/payments`] } }),
      await make(team, 'other-owner', { scope: { owners: ['team-pay', 'team-other'], subjectPrefixes: [PAY] } }),
      await make(team, 'unscoped', {}),
    ]
    t.same(
      refusals.map((r) => [r.statusCode, r.json().reason]),
      Array(4).fill([403, 'scope_beyond_own']),
    )
    t.equal(
      refusals[3].json().detail,
      'the admin token team-pay cannot make a token without a scope (unrestricted): only one whose owners are among its own ' +
        `and whose prefixes lie under its own (its scope: owners team-pay, subjects under ${PAY})`,
    )
    const unscopable = await make(sts.admin.authorization, 'scoped-auditor', {
      roles: ['audit:read', 'revocations:subscribe'],
      scope: TEAM_SCOPE,
    })
    t.equal(unscopable.statusCode, 400, 'a scope goes only with roles that can be cut to a team')
    t.same(unscopable.json().errors, [
      {
        path: 'roles',
        message:
          'a token with a scope may hold only grants:read, grants:write, revocations:read, revocations:write, ledger:read, reports:read, admin-tokens:write; not audit:read, revocations:subscribe',
      },
    ])

    const otherTeam = await make(sts.admin.authorization, 'team-payments', {
      scope: { owners: ['team-pay'], subjectPrefixes: [`${NS}/payments`] },
    })
    const unscoped = await make(sts.admin.authorization, 'reader', {})
    t.same(
      (await call('GET', '/v1/admin-tokens', team))
        .json()
        .adminTokens.map((a: { name: string }) => a.name)
        .sort(),
      ['pay-api', 'team-pay'],
      'it lists tokens within its scope only',
    )
    t.same(
      (await call('GET', '/v1/admin-tokens', sts.admin.authorization))
        .json()
        .adminTokens.map((a: { name: string }) => a.name)
        .sort(),
      ['pay-api', 'reader', 'team-pay', 'team-payments'],
    )
    const revokeOther = await call('DELETE', `/v1/admin-tokens/${otherTeam.json().adminToken.id}`, team)
    t.same([revokeOther.statusCode, revokeOther.json().reason], [403, 'scope_beyond_own'])
    t.equal((await call('DELETE', `/v1/admin-tokens/${unscoped.json().adminToken.id}`, team)).statusCode, 403)
    t.equal((await call('DELETE', `/v1/admin-tokens/${narrower.json().adminToken.id}`, team)).statusCode, 200)
    t.same(teamToken.scope, TEAM_SCOPE, 'the scope is on the token as made')
  })
}

t.test('admin tokens made through the API expire by default, and never later than the maximum', async (t) => {
  const sts = await startTestService(t, {
    backend: 'embedded',
    config: { admin: { token: ADMIN_TOKEN, tokenDefaultTtlDays: 7, tokenMaxTtlDays: 30 } },
  })
  const make = (name: string, body: object = {}) =>
    sts.app.inject({ method: 'POST', url: '/v1/admin-tokens', headers: sts.admin, payload: { name, roles: ['grants:read'], ...body } })
  const defaulted = await make('defaulted')
  t.equal(defaulted.json().adminToken.expiresAt, new Date(NOW + 7 * DAY).toISOString())
  const explicit = new Date(NOW + 30 * DAY).toISOString()
  t.equal(
    (await make('explicit', { expiresAt: explicit })).json().adminToken.expiresAt,
    explicit,
    'an expiresAt within the maximum is kept',
  )
  const beyond = await make('beyond', { expiresAt: new Date(NOW + 30 * DAY + 1000).toISOString() })
  t.equal(beyond.statusCode, 400)
  t.same(beyond.json().errors, [{ path: 'expiresAt', message: 'must be at most 30 days ahead (admin.tokenMaxTtlDays)' }])

  const token = `Bearer ${defaulted.json().token}`
  sts.clock.advance(7 * DAY - 1000)
  t.equal((await sts.app.inject({ method: 'GET', url: '/v1/grants', headers: { authorization: token } })).statusCode, 200)
  sts.clock.advance(6001)
  t.equal((await sts.app.inject({ method: 'GET', url: '/v1/grants', headers: { authorization: token } })).statusCode, 401)
})

t.test('the defaults are 90 days, at most 365', async (t) => {
  const sts = await startTestService(t, { backend: 'embedded' })
  const made = await sts.app.inject({
    method: 'POST',
    url: '/v1/admin-tokens',
    headers: sts.admin,
    payload: { name: 'a', roles: ['grants:read'] },
  })
  t.equal(made.json().adminToken.expiresAt, new Date(NOW + 90 * DAY).toISOString())
  const beyond = await sts.app.inject({
    method: 'POST',
    url: '/v1/admin-tokens',
    headers: sts.admin,
    payload: { name: 'b', roles: ['grants:read'], expiresAt: new Date(NOW + 366 * DAY).toISOString() },
  })
  t.equal(beyond.statusCode, 400)
})

t.test("the revocation stream sends a team's token its identities' revocations only", async (t) => {
  const { sts, call, team } = await setUp(t, 'real')
  const address = await sts.app.listen({ host: '127.0.0.1', port: 0 })
  const stream = await openSse(`${address}/v1/revocations/stream`, { authorization: team })
  t.teardown(() => stream.close())
  t.equal(stream.status, 200)
  const revoke = (authorization: string, kind: string, value: string) =>
    call('POST', '/v1/revocations', authorization, { kind, value, reason: 'INC-9' })
  await revoke(sts.admin.authorization, 'subject', `${NS}/payments/sa/api`)
  await revoke(sts.admin.authorization, 'source', 'k8s:prod:node:node-z')
  const mine = (await revoke(team, 'subject', `${PAY}/sa/api`)).json().revocation
  const event = await stream.next(5000)
  t.same([event.event, event.id, JSON.parse(event.data ?? '{}').value], ['revoked', mine.cursor, mine.value], 'the first event is its own')
})
