import type { InjectOptions } from 'fastify'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import t, { type Test } from 'tap'
import { ADMIN_ROLES } from '../../../src/admin-tokens/admin-token.js'
import {
  adminOperations,
  conforms,
  deref,
  doc,
  documentedOperations,
  expectAnswer,
  pointer,
  schemaOf,
  servedRoutes,
  validate,
  type Node,
} from '../../support/openapi-check.js'
import { JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN, type TestService } from '../../support/service.js'
import { openSse } from '../../support/sse.js'

/**
 * Keeps openapi.yaml true to what the service does: the routes it lists are the routes the app
 * serves, and real answers (bodies, headers, the token's header and claims, stream events) validate
 * against it. That its schemas are the handlers' is true by construction: the document is generated
 * from them (test/http/openapi/api-description.test.ts).
 */

const UNKNOWN_ID = '0b8f3c2e-0000-4000-8000-000000000000'
const tokenForm: Node = doc.paths['/oauth2/token'].post.requestBody.content['application/x-www-form-urlencoded'].schema

const form = (params: Record<string, string>): InjectOptions => ({
  method: 'POST',
  url: '/oauth2/token',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams(params).toString(),
})

async function validRequest(sts: TestService): Promise<Record<string, string>> {
  await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/*`,
    audiences: ['ledger-api'],
    scopes: ['ledger:read'],
    owner: 'team-payments',
  })
  return {
    grant_type: TOKEN_EXCHANGE,
    subject_token: await sts.cluster.serviceAccountToken(),
    subject_token_type: JWT_TOKEN_TYPE,
    audience: 'ledger-api',
  }
}

/** Admin requests with the bootstrap token, each checked against the document: `call(METHOD, url, status, path)`. */
function adminCaller(t: Test, sts: TestService) {
  return (method: 'GET' | 'POST' | 'DELETE', url: string, status: number, path: string, payload?: object) =>
    expectAnswer(t, sts.app, { method, url, headers: sts.admin, ...(payload ? { payload } : {}) }, status, path)
}

t.test('the checker refuses what does not match the document', async (t) => {
  const problem = {
    type: 'about:blank',
    title: 'Not found',
    status: 404,
    detail: 'no grant',
    instance: '/v1/grants/x',
    reason: 'grant_not_found',
  }
  t.same(validate(schemaOf('Problem'), problem), [])
  const refusals = ['$ must NOT have additional properties', '/status must be integer']
  t.same(validate(schemaOf('Problem'), { ...problem, status: '404', extra: 1 }), refusals)
  t.same(validate(schemaOf('Problem'), { ...problem, reason: 'no_such_reason' }), ['/reason must be equal to one of the allowed values'])
  const tokenError = { error: 'invalid_grant', error_description: 'x', error_reason: 'ledger_unavailable' }
  t.same(validate(schemaOf('TokenErrorUnavailable'), tokenError), ['/error must be equal to constant'])
  t.same(validate(schemaOf('TokenError'), { error: 'invalid_grant', error_description: 'x' }), [
    "$ must have required property 'error_reason'",
  ])
  t.same(validate(pointer('components', 'schemas', 'Revocation', 'properties', 'expiresAt'), null), [], 'a type may list null')
  t.same(validate(pointer('components', 'schemas', 'Revocation', 'properties', 'expiresAt'), 'soon'), ['$ must match format "date-time"'])
  t.same(validate(pointer('components', 'schemas', 'Revocation', 'properties', 'cursor'), '12a'), ['$ must match pattern "^\\d+$"'])
})

t.test('the routes served are the routes documented, and real responses match', async (t) => {
  const sts = await startTestService(t)
  const { app, admin } = sts
  const served = servedRoutes(t, app)
  t.ok(served.length >= 10, 'printRoutes was understood')
  t.same(served, documentedOperations.map(([route]) => route).sort(), 'every route is documented and every documented route is served')

  for (const path of [
    '/healthz',
    '/readyz',
    '/.well-known/jwks.json',
    '/.well-known/oauth-authorization-server',
    '/.well-known/openid-configuration',
  ]) {
    conforms(t, await app.inject({ method: 'GET', url: path }), path, 'get')
  }

  const request = await validRequest(sts)
  const exchanged = await app.inject(form({ ...request, client_id: 'ignored-by-the-server' }))
  t.equal(exchanged.statusCode, 200, 'client_id is accepted and ignored')
  conforms(t, exchanged, '/oauth2/token', 'post')
  const token = (exchanged.json() as { access_token: string }).access_token
  t.same(validate(schemaOf('AccessTokenHeader'), decodeProtectedHeader(token)), [], 'the JWT header is as documented')
  t.same(validate(schemaOf('AccessTokenClaims'), decodeJwt(token)), [], 'the JWT claims are as documented')

  const body = { subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/billing/sa/*`, audiences: ['ledger-api'], owner: 'team-billing' }
  const call = adminCaller(t, sts)
  const created = await call('POST', '/v1/grants', 201, '/v1/grants', body)
  const url = created.headers.location as string
  const read = await call('GET', url, 200, '/v1/grants/{id}')
  t.same(read.json(), created.json())

  const first = (await call('GET', '/v1/grants?limit=1', 200, '/v1/grants')).json() as { grants: { id: string }[]; nextCursor?: string }
  t.type(first.nextCursor, 'string', 'a first page of two grants has a nextCursor')
  const second = (await call('GET', `/v1/grants?limit=1&cursor=${first.nextCursor}`, 200, '/v1/grants')).json() as {
    grants: { id: string }[]
    nextCursor?: string
  }
  t.equal(second.nextCursor, undefined, 'the last page has no nextCursor')
  t.equal(new Set([...first.grants, ...second.grants].map((g) => g.id)).size, 2, 'the pages hold both grants')
  const filtered = await app.inject({
    method: 'GET',
    url: `/v1/grants?owner=team-billing&subject=${encodeURIComponent(body.subject)}`,
    headers: admin,
  })
  t.same(filtered.json(), { grants: [created.json()] }, 'owner and subject filter')

  // Read, modify, write back: the documented way to replace a grant.
  t.same(validate(schemaOf('GrantReplacement'), read.json()), [], 'a Grant as read is a GrantReplacement')
  const ifMatch = { 'if-match': read.headers.etag as string }
  const put = (headers: Record<string, string>, payload = { ...(read.json() as object), enabled: false }) =>
    app.inject({ method: 'PUT', url, headers: { ...admin, ...headers }, payload })
  for (const [status, response] of [
    [428, await put({})],
    [400, await put(ifMatch, { ...body, enabled: false })],
  ] as const) {
    t.equal(response.statusCode, status, `PUT ${status}`)
    conforms(t, response, '/v1/grants/{id}', 'put')
  }
  const replaced = await put(ifMatch)
  conforms(t, replaced, '/v1/grants/{id}', 'put')
  t.equal(replaced.headers.etag, '"2"')
  const stale = await put(ifMatch)
  t.equal(stale.statusCode, 412)
  conforms(t, stale, '/v1/grants/{id}', 'put')
  t.equal(
    (stale.json() as { detail: string }).detail,
    `grant ${url.split('/').pop()} is at version 2, not the one in If-Match; read it again and retry`,
  )
  await call('POST', '/v1/grants', 400, '/v1/grants', { ...body, audiences: [] })
  const badQuery = await call('GET', '/v1/grants?colour=red', 400, '/v1/grants')
  t.same(
    (badQuery.json() as { errors: unknown }).errors,
    [{ path: '(query)', message: 'Unrecognized key: "colour"' }],
    'an unknown query parameter is at (query)',
  )

  const disabled = await call('DELETE', url, 200, '/v1/grants/{id}')
  t.equal((disabled.json() as { enabled: boolean }).enabled, false, 'DELETE disables and returns the grant')
  const audit = await call('GET', `/v1/audit?targetType=grant&targetId=${url.split('/').pop()}`, 200, '/v1/audit')
  const actions = (audit.json() as { entries: { action: string }[] }).entries.map((e) => e.action)
  t.same(
    actions,
    ['grant.create', 'grant.replace'],
    'every grant change is on the audit log (disabling the disabled grant changed nothing)',
  )
  await call('GET', `/v1/grants/${UNKNOWN_ID}`, 404, '/v1/grants/{id}')
  await expectAnswer(t, app, { method: 'GET', url: '/v1/grants' }, 401, '/v1/grants')
})

t.test('without a granted scope the token response has no scope; expires_in sets the lifetime', async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/*`,
    audiences: ['metrics'],
    maxTtlSeconds: 120,
    owner: 'team-payments',
  })
  const request = {
    grant_type: TOKEN_EXCHANGE,
    subject_token: await sts.cluster.serviceAccountToken(),
    subject_token_type: JWT_TOKEN_TYPE,
    audience: 'metrics',
  }
  const exchanged = await sts.app.inject(form({ ...request, expires_in: '60' }))
  conforms(t, exchanged, '/oauth2/token', 'post')
  const body = exchanged.json() as { access_token: string; expires_in: number }
  t.notOk('scope' in body, 'scope is left out, not empty')
  t.equal(body.expires_in, 60)
  const claims = decodeJwt(body.access_token)
  t.same(validate(schemaOf('AccessTokenClaims'), claims), [])
  t.equal(claims.exp! - claims.iat!, 60)
  const tooLong = await sts.app.inject(form({ ...request, expires_in: '121' }))
  conforms(t, tooLong, '/oauth2/token', 'post')
  t.same(
    tooLong.json(),
    {
      error: 'invalid_request',
      error_description: 'expires_in 121 is longer than the 120 seconds allowed for this token',
      error_reason: 'requested_lifetime_too_long',
    },
    "the grant's maxTtlSeconds is the most a client gets",
  )
})

t.test('the admin API answers 429 as documented, before checking the token', async (t) => {
  t.equal(adminOperations.length, 29, 'the admin operations')
  for (const [route, operation] of adminOperations) t.ok(operation.responses['429'], `${route} documents 429`)

  const sts = await startTestService(t, { config: { limits: { adminRequestsPerMinute: 1 } } })
  const guess = await sts.app.inject({ method: 'GET', url: '/v1/grants', headers: { authorization: 'Bearer a-guess-at-the-admin-token' } })
  t.equal(guess.statusCode, 401)
  const limited = await sts.app.inject({ method: 'GET', url: '/v1/grants', headers: sts.admin })
  t.equal(limited.statusCode, 429, 'the failed guess used up the minute')
  conforms(t, limited, '/v1/grants', 'get')
  t.match(limited.json(), { title: 'Too many requests', status: 429, detail: /^rate limit exceeded: retry in \d+ s$/ })
})

t.test('each token error comes with the status documented for it', async (t) => {
  const refused = Object.entries(tokenForm.properties as Record<string, Node>).filter(([, s]) => s['x-seed-sts-refused-with'])
  const cases: [string, (valid: Record<string, string>) => InjectOptions][] = [
    ['invalid_request', ({ subject_token_type: _, ...rest }) => form(rest)],
    ['invalid_request', (valid) => ({ method: 'POST', url: '/oauth2/token', payload: valid })],
    ['invalid_request', (valid) => form({ ...valid, padding: 'x'.repeat(70_000) })],
    ['invalid_grant', (valid) => form({ ...valid, subject_token: 'not-a-jwt' })],
    ['invalid_scope', (valid) => form({ ...valid, scope: 'ledger:admin' })],
    ['invalid_target', (valid) => form({ ...valid, audience: 'billing-api' })],
    ['unsupported_grant_type', (valid) => form({ ...valid, grant_type: 'client_credentials' })],
    ['invalid_request', (valid) => form({ ...valid, expires_in: '86400' })],
    ['invalid_request', (valid) => form({ ...valid, expires_in: '1.5' })],
    ...refused.map(([name, s]): (typeof cases)[number] => [s['x-seed-sts-refused-with'], (valid) => form({ ...valid, [name]: 'x' })]),
  ]
  // Allow exactly these requests this minute, so the next one shows the rate limit's answer.
  const sts = await startTestService(t, { config: { limits: { tokenRequestsPerMinute: cases.length } } })
  const valid = await validRequest(sts)
  for (const [code, request] of cases) {
    const response = await sts.app.inject(request(valid))
    t.equal((response.json() as { error: string }).error, code, `${code} (${response.statusCode})`)
    conforms(t, response, '/oauth2/token', 'post')
  }
  const limited = await sts.app.inject(form(valid))
  t.equal(limited.statusCode, 429)
  conforms(t, limited, '/oauth2/token', 'post')
})

t.test('each admin operation documents the role its route needs', async (t) => {
  const sts = await startTestService(t)
  const documented = adminOperations.map(([route]) => route)
  for (const route of servedRoutes(t, sts.app).filter((r) => r.includes(' /v1/')))
    t.ok(documented.includes(route), `${route} is an admin operation`)
  const allBut = new Map<string, string>()
  for (const [route, operation] of adminOperations) {
    const role: string = operation['x-seed-sts-role']
    // A narrower role that may call it too (and is answered less): the refusal names both.
    const narrowRole: string | undefined = operation['x-seed-sts-narrow-role']
    t.ok((ADMIN_ROLES as readonly string[]).includes(role), `${route} needs ${role}`)
    const roleLine = narrowRole === undefined ? `Role: \`${role}\`.` : `Role: \`${role}\`, or \`${narrowRole}\`, which is answered less.`
    t.ok(String(operation.description).includes(roleLine), `${route} says so in its description`)
    t.ok(operation.responses['401'] && operation.responses['403'], `${route} documents 401 and 403`)
    const name = `all-but-${role.replace(':', '.')}${narrowRole === undefined ? '' : `-and-${narrowRole.replace(':', '.')}`}`
    if (!allBut.has(name)) {
      const created = await sts.app.inject({
        method: 'POST',
        url: '/v1/admin-tokens',
        headers: sts.admin,
        payload: { name, roles: ADMIN_ROLES.filter((r) => r !== role && r !== narrowRole) },
      })
      allBut.set(name, `Bearer ${(created.json() as { token: string }).token}`)
    }
    // A token with every role but the documented one: the refusal names the role the route is configured with.
    const [method, path] = route.split(' ') as ['GET', string]
    const refused = await expectAnswer(
      t,
      sts.app,
      { method, url: path.replace('{id}', UNKNOWN_ID), headers: { authorization: allBut.get(name)! } },
      403,
      path,
    )
    const said = refused.json() as { detail?: string; error_description?: string; reason?: string; error_reason?: string }
    const roles = narrowRole === undefined ? role : `${role} (or ${narrowRole})`
    t.equal(said.detail ?? said.error_description, `the admin token ${name} does not have the role ${roles}`)
    t.equal(said.reason ?? said.error_reason, 'role_missing')
  }
})

t.test('revocations, and their stream, answer as documented', async (t) => {
  const sts = await startTestService(t)
  const call = adminCaller(t, sts)
  const subject = { kind: 'subject', value: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/**`, reason: 'credentials leaked' }
  const created = await call('POST', '/v1/revocations', 201, '/v1/revocations', subject)
  await call('POST', '/v1/revocations', 200, '/v1/revocations', { ...subject, reason: 'paged twice' })
  await call('POST', '/v1/revocations', 400, '/v1/revocations', { ...subject, kind: 'token' })
  await call('POST', '/v1/revocations', 201, '/v1/revocations', {
    kind: 'source',
    value: 'k8s:prod:node:node-a',
    reason: 'node compromised',
  })

  const url = created.headers.location as string
  await call('GET', url, 200, '/v1/revocations/{id}')
  const { nextCursor } = (await call('GET', '/v1/revocations?limit=1', 200, '/v1/revocations')).json() as { nextCursor?: string }
  t.type(nextCursor, 'string', 'a first page of two revocations has a nextCursor')
  await call('GET', `/v1/revocations?limit=1&cursor=${nextCursor}`, 200, '/v1/revocations')
  await call('DELETE', url, 200, '/v1/revocations/{id}', { reason: 'credentials rotated' })
  await call('DELETE', url, 404, '/v1/revocations/{id}', { reason: 'again' })
  await call('GET', `/v1/revocations/${UNKNOWN_ID}`, 404, '/v1/revocations/{id}')
  await call('GET', '/v1/audit?targetType=revocation', 200, '/v1/audit')

  await call('GET', '/v1/revocations/stream?cursor=abc', 400, '/v1/revocations/stream')
  const address = await sts.app.listen({ host: '127.0.0.1', port: 0 })
  const stream = await openSse(`${address}/v1/revocations/stream?cursor=0`, sts.admin)
  t.teardown(() => stream.close())
  const documented = doc.paths['/v1/revocations/stream'].get.responses['200']
  t.equal(stream.status, 200)
  t.ok(stream.headers.get('content-type')?.startsWith(Object.keys(documented.content)[0]), 'the stream is text/event-stream')
  t.equal(stream.headers.get('cache-control'), deref(documented.headers['Cache-Control']).schema.const)
  const event = await stream.next()
  t.same(validate(schemaOf('RevocationEvent'), event), [], 'an event is as documented')
  const data = pointer('components', 'schemas', 'RevocationEvent', 'properties', 'data', 'contentSchema')
  t.same(validate(data, JSON.parse(event.data!)), [], 'its data is a Revocation')
})

t.test('the ledger, introspection, admin tokens and the audit log answer as documented', async (t) => {
  const sts = await startTestService(t)
  const call = adminCaller(t, sts)
  const request = await validRequest(sts)
  const tokens = await Promise.all(
    [1, 2].map(async () => ((await sts.app.inject(form(request))).json() as { access_token: string }).access_token),
  )
  const search = `/v1/ledger?limit=1&subject=${encodeURIComponent(`spiffe://${TRUST_DOMAIN}/k8s/**`)}&audience=ledger-api`
  const page = (await call('GET', search, 200, '/v1/ledger')).json() as { entries: unknown[]; nextCursor?: string }
  t.equal(page.entries.length, 1)
  t.type(page.nextCursor, 'string', 'a first page of two entries has a nextCursor')
  await call('GET', `${search}&cursor=${page.nextCursor}`, 200, '/v1/ledger')
  await call('GET', '/v1/ledger?since=2026-11-23T12:00:00Z&until=2026-11-23T11:00:00Z', 400, '/v1/ledger')
  await call('POST', '/v1/ledger:verify', 200, '/v1/ledger:verify', {
    heads: [`${'0'.repeat(8)}-0000-7000-8000-${'0'.repeat(12)}:1:${'a'.repeat(64)}`],
  })
  await call('POST', '/v1/ledger:verify', 400, '/v1/ledger:verify', { heads: ['chain:1:abc'] })

  const introspect = (params: Record<string, string>, status: number, authorization = sts.admin.authorization) =>
    expectAnswer(
      t,
      sts.app,
      { ...form(params), url: '/oauth2/introspect', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization } },
      status,
      '/oauth2/introspect',
    )
  t.equal(((await introspect({ token: tokens[0] }, 200)).json() as { active: boolean }).active, true, 'a live token is active')
  t.same((await introspect({ token: 'a.b.c' }, 200)).json(), { active: false })
  await introspect({}, 400)
  await introspect({ token: tokens[0] }, 401, 'Bearer a-guess')

  const revoke = (body: string, status: number, contentType = 'application/x-www-form-urlencoded') =>
    expectAnswer(
      t,
      sts.app,
      { method: 'POST', url: '/oauth2/revoke', headers: { 'content-type': contentType }, payload: body },
      status,
      '/oauth2/revoke',
    )
  await revoke(`token=${tokens[1]}`, 200)
  t.same((await introspect({ token: tokens[1] }, 200)).json(), { active: false }, 'revoked by its holder')
  await revoke('token=a.b.c', 200)
  await revoke('token_type_hint=access_token', 400)
  await revoke(JSON.stringify({ token: tokens[0] }), 415, 'application/json')

  const created = await call('POST', '/v1/admin-tokens', 201, '/v1/admin-tokens', { name: 'ledger-resource-server', roles: ['introspect'] })
  await call('POST', '/v1/admin-tokens', 409, '/v1/admin-tokens', { name: 'ledger-resource-server', roles: ['ledger:read'] })
  await call('GET', '/v1/admin-tokens', 200, '/v1/admin-tokens')
  const url = `/v1/admin-tokens/${(created.json() as { adminToken: { id: string } }).adminToken.id}`
  await call('DELETE', url, 200, '/v1/admin-tokens/{id}')
  await call('DELETE', url, 404, '/v1/admin-tokens/{id}')

  const audit = (await call('GET', '/v1/audit?limit=2', 200, '/v1/audit')).json() as { entries: { action: string }[]; nextCursor?: string }
  t.same(
    audit.entries.map((e) => e.action),
    // The first key, made at the first start, comes first.
    ['key.create', 'grant.create'],
  )
  await call('GET', `/v1/audit?cursor=${audit.nextCursor}`, 200, '/v1/audit')
  await call('GET', '/v1/audit?targetType=key', 400, '/v1/audit')
})

t.test('the signing keys answer as documented', async (t) => {
  const sts = await startTestService(t)
  const call = adminCaller(t, sts)
  const first = ((await call('GET', '/v1/keys', 200, '/v1/keys')).json() as { keys: { kid: string }[] }).keys[0]!.kid
  const next = ((await call('POST', '/v1/keys/rotate', 201, '/v1/keys/rotate')).json() as { key: { kid: string } }).key.kid
  await call('POST', '/v1/keys/rotate', 200, '/v1/keys/rotate')
  await call('POST', '/v1/keys/reseal', 200, '/v1/keys/reseal')
  await call('POST', `/v1/keys/${next}/revoke`, 400, '/v1/keys/{kid}/revoke', {})
  await call('POST', '/v1/keys/not%20a%20kid/revoke', 400, '/v1/keys/{kid}/revoke', { reason: 'x' })
  await call('POST', '/v1/keys/no-such-kid/revoke', 404, '/v1/keys/{kid}/revoke', { reason: 'x' })
  await call('POST', `/v1/keys/${next}/revoke`, 201, '/v1/keys/{kid}/revoke', { reason: 'made by mistake' })
  await call('POST', `/v1/keys/${next}/revoke`, 200, '/v1/keys/{kid}/revoke', { reason: 'again' })
  // A key removed once its tokens have expired cannot be revoked any more: a rotation, then the hour and a half after it.
  await call('POST', '/v1/keys/rotate', 201, '/v1/keys/rotate')
  sts.clock.advance(390_000)
  await sts.services.keyService.maintain()
  sts.clock.advance(3_690_000)
  await sts.services.keyService.maintain()
  await call('POST', `/v1/keys/${first}/revoke`, 409, '/v1/keys/{kid}/revoke', { reason: 'too late' })
  const states = ((await call('GET', '/v1/keys', 200, '/v1/keys')).json() as { keys: { state: string }[] }).keys.map((k) => k.state)
  // The revoked key and the one after it were made at the same instant: their order is the kids'.
  t.same(states.sort(), ['current', 'removed', 'revoked'])
})

t.test('registrations answer as documented', async (t) => {
  const sts = await startTestService(t)
  const call = adminCaller(t, sts)
  for (const instance of ['111122223333/eu-west-1/i-0abc', '111122223333/eu-west-1/i-0def']) {
    await sts.services.registrations.admit({
      attestor: 'prod-aws',
      instance,
      nonce: 'a-nonce-the-instance-keeps-01',
      mode: 'nonce',
      clientAddress: '10.0.0.7',
      now: new Date(sts.clock.now()),
    })
  }
  const page = (
    await call('GET', '/v1/registrations?limit=1&attestor=prod-aws&instance=111122223333%2F*%2F*', 200, '/v1/registrations')
  ).json() as { nextCursor?: string }
  t.type(page.nextCursor, 'string', 'a first page of two registrations has a nextCursor')
  await call('GET', `/v1/registrations?cursor=${page.nextCursor}`, 200, '/v1/registrations')
  await call('GET', '/v1/registrations?lastSeenAfter=soon', 400, '/v1/registrations')
  const url = `/v1/registrations/prod-aws/${encodeURIComponent('111122223333/eu-west-1/i-0abc')}`
  await call('GET', url, 200, '/v1/registrations/{attestor}/{instance}')
  await call('DELETE', url, 400, '/v1/registrations/{attestor}/{instance}', {})
  await call('DELETE', url, 200, '/v1/registrations/{attestor}/{instance}', { reason: 'instance rebuilt' })
  await call('DELETE', url, 404, '/v1/registrations/{attestor}/{instance}', { reason: 'again' })
  await call('GET', url, 404, '/v1/registrations/{attestor}/{instance}')
  const audit = (await call('GET', '/v1/audit?targetType=registration', 200, '/v1/audit')).json() as { entries: { action: string }[] }
  t.same(
    audit.entries.map((e) => e.action),
    ['registration.forget'],
  )
})
