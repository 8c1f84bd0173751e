import t from 'tap'
import { ADMIN_TOKEN, startTestService, TRUST_DOMAIN } from '../../support/service.js'

const SUBJECT_GLOB = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/*`
const GRANT = { subject: SUBJECT_GLOB, audiences: ['ledger-api'], scopes: ['ledger:read'], owner: 'team-payments' }

t.test('the admin API refuses callers without the admin token', async (t) => {
  const sts = await startTestService(t)
  const cases: [string, Record<string, string>, string, string][] = [
    ['no Authorization header', {}, 'an admin bearer token is required (Authorization: Bearer <token>)', 'admin_token_missing'],
    ['a wrong token', { authorization: 'Bearer not-the-admin-token' }, 'the admin token is not valid', 'admin_token_invalid'],
    [
      'another scheme',
      { authorization: `Basic ${ADMIN_TOKEN}` },
      'an admin bearer token is required (Authorization: Bearer <token>)',
      'admin_token_missing',
    ],
  ]
  for (const [name, headers, detail, reason] of cases) {
    const response = await sts.app.inject({ method: 'GET', url: '/v1/grants', headers })
    t.equal(response.statusCode, 401, name)
    t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
    t.match(response.headers['www-authenticate'], /^Bearer /)
    t.same(response.json(), { type: 'about:blank', title: 'Unauthorized', status: 401, detail, instance: '/v1/grants', reason }, name)
  }
})

t.test('with no bootstrap token configured and no scoped tokens, the admin API admits no one, as the start-up log says', async (t) => {
  const lines: string[] = []
  const sts = await startTestService(t, { backend: 'embedded', logLines: lines, config: { admin: {} } })
  const closedWarnings = lines.map((line) => JSON.parse(line)).filter((entry) => /no admin token is configured/.test(entry.msg))
  t.same(
    closedWarnings.map(({ level, msg }) => ({ level, msg })),
    [
      {
        level: 40,
        msg:
          'no admin token is configured (admin.token or STS_ADMIN_TOKEN): the admin API (/v1) and introspection are closed, ' +
          'every call answers 401 unless it carries a scoped admin token made earlier; ' +
          'set STS_ADMIN_TOKEN (at least 24 characters) or admin.token to open them',
      },
    ],
  )
  const response = await sts.app.inject({
    method: 'GET',
    url: '/v1/grants',
    headers: { authorization: 'Bearer anything-at-all-here-1234567890' },
  })
  t.equal(response.statusCode, 401)
  t.match(response.json(), {
    detail: 'the admin token is not valid (and no bootstrap token is configured: STS_ADMIN_TOKEN)',
    reason: 'admin_token_invalid',
  })
})

t.test('with a bootstrap token configured, the start-up log says nothing of a closed admin API', async (t) => {
  const lines: string[] = []
  await startTestService(t, { backend: 'embedded', logLines: lines })
  t.same(
    lines.filter((line) => line.includes('no admin token is configured')),
    [],
  )
})

t.test('grants: create, read, replace with If-Match, list, disable', async (t) => {
  const sts = await startTestService(t)
  const call = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    sts.app.inject({ method, url, headers: { ...sts.admin, ...headers }, ...(payload === undefined ? {} : { payload: payload as object }) })

  const created = await call('POST', '/v1/grants', GRANT)
  t.equal(created.statusCode, 201)
  const grant = created.json()
  t.equal(created.headers.location, `/v1/grants/${grant.id}`)
  t.equal(created.headers.etag, '"1"')
  t.match(grant, {
    ...GRANT,
    conditions: {},
    maxTtlSeconds: 3600,
    description: '',
    enabled: true,
    version: 1,
    createdAt: new Date(sts.clock.now()).toISOString(),
    expiresAt: new Date(sts.clock.now() + 90 * 86_400_000).toISOString(),
  })

  const read = await call('GET', `/v1/grants/${grant.id}`)
  t.equal(read.statusCode, 200)
  t.same(read.json(), grant)

  const missingIfMatch = await call('PUT', `/v1/grants/${grant.id}`, { ...grant, scopes: ['ledger:write'] })
  t.equal(missingIfMatch.statusCode, 428)
  t.match(missingIfMatch.json(), { title: 'Precondition required', reason: 'if_match_required' })

  const partial = await call('PUT', `/v1/grants/${grant.id}`, { ...GRANT, scopes: ['ledger:write'] }, { 'if-match': '"1"' })
  t.equal(partial.statusCode, 400, 'a replacement is a whole grant: nothing left out is silently defaulted')
  t.equal(partial.json().reason, 'input_invalid')
  t.same(
    partial
      .json()
      .errors.map((e: { path: string }) => e.path)
      .sort(),
    ['conditions', 'description', 'enabled', 'expiresAt', 'maxTtlSeconds'],
  )

  sts.clock.advance(1000)
  // Read, modify, write back: the read-only fields of what was read may come along.
  const replaced = await call('PUT', `/v1/grants/${grant.id}`, { ...grant, scopes: ['ledger:write'] }, { 'if-match': '"1"' })
  t.equal(replaced.statusCode, 200)
  t.equal(replaced.headers.etag, '"2"')
  t.same(replaced.json().scopes, ['ledger:write'])
  t.equal(replaced.json().createdAt, grant.createdAt)
  t.equal(replaced.json().updatedAt, new Date(sts.clock.now()).toISOString())

  const stale = await call('PUT', `/v1/grants/${grant.id}`, grant, { 'if-match': '"1"' })
  t.equal(stale.statusCode, 412, 'a writer holding an old ETag cannot overwrite a newer change')
  t.match(stale.json(), {
    title: 'Precondition failed',
    detail: `grant ${grant.id} is at version 2, not the one in If-Match; read it again and retry`,
    reason: 'version_mismatch',
  })
  t.equal((await call('PUT', `/v1/grants/${grant.id}`, grant, { 'if-match': 'W/"2"' })).statusCode, 412, 'a weak ETag never matches')
  t.equal((await call('PUT', `/v1/grants/${grant.id}`, grant, { 'if-match': '"7", "2"' })).statusCode, 200, 'one of a list matches')
  t.equal((await call('PUT', `/v1/grants/${grant.id}`, grant, { 'if-match': '*' })).statusCode, 200, '* matches any version')
  const otherId = await call('PUT', `/v1/grants/${grant.id}`, { ...grant, id: '00000000-0000-4000-8000-000000000000' }, { 'if-match': '*' })
  t.equal(otherId.statusCode, 400, 'the body cannot be another grant')
  t.match(otherId.json(), { reason: 'input_invalid', errors: [{ path: 'id' }] })
  const missing = await call('PUT', '/v1/grants/00000000-0000-4000-8000-000000000000', { ...grant, id: undefined }, { 'if-match': '*' })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().reason, 'grant_not_found')

  const disabled = await call('DELETE', `/v1/grants/${grant.id}`)
  t.equal(disabled.statusCode, 200)
  t.equal(disabled.json().enabled, false)
  t.equal((await call('GET', `/v1/grants/${grant.id}`)).json().enabled, false, 'a disabled grant stays on record')

  const unknown = await call('GET', '/v1/grants/00000000-0000-4000-8000-000000000000')
  t.equal(unknown.statusCode, 404, 'no grant with that id')
  t.match(unknown.json(), { title: 'Not found', reason: 'grant_not_found' })
  for (const id of ['not-a-uuid', "1'; DROP TABLE grants; --"]) {
    const malformed = await call('GET', `/v1/grants/${encodeURIComponent(id)}`)
    t.equal(malformed.statusCode, 400, `${id} is not an id`)
    t.same(malformed.json().errors, [{ path: 'id', message: 'must be a UUID, e.g. 0b8f3c2e-0000-4000-8000-000000000000' }])
  }
})

t.test('grant validation reports every problem at once', async (t) => {
  const sts = await startTestService(t)
  const response = await sts.app.inject({
    method: 'POST',
    url: '/v1/grants',
    headers: sts.admin,
    payload: { subject: 'payments-api', audiences: [], scopes: ['read all'], maxTtlSeconds: -5, surprise: true },
  })
  t.equal(response.statusCode, 400)
  const problem = response.json()
  t.match(problem, { title: 'Invalid request', reason: 'input_invalid' })
  t.same(problem.errors.map((e: { path: string }) => e.path).sort(), [
    '(body)',
    'audiences',
    'maxTtlSeconds',
    'owner',
    'scopes.0',
    'subject',
  ])
  t.match(problem.detail, /^the grant is not valid: /)

  const past = await sts.app.inject({
    method: 'POST',
    url: '/v1/grants',
    headers: sts.admin,
    payload: { ...GRANT, expiresAt: new Date(sts.clock.now() - 1000).toISOString() },
  })
  t.equal(past.statusCode, 400)
  t.same(past.json().errors, [{ path: 'expiresAt', message: 'must be in the future' }])

  const notJson = await sts.app.inject({
    method: 'POST',
    url: '/v1/grants',
    headers: { ...sts.admin, 'content-type': 'application/json' },
    payload: '{"subject":',
  })
  t.equal(notJson.statusCode, 400)
  t.equal(notJson.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(notJson.json(), { title: 'Bad request', reason: 'body_malformed' })
})

t.test('listing pages through grants with a cursor and filters by owner and subject', async (t) => {
  const sts = await startTestService(t)
  const ids: string[] = []
  for (let i = 0; i < 5; i++) {
    sts.clock.advance(1)
    const owner = i % 2 === 0 ? 'team-payments' : 'team-search'
    const subject = i === 4 ? `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/search/sa/indexer` : SUBJECT_GLOB
    ids.push((await sts.createGrant({ ...GRANT, owner, subject })).id as string)
  }
  const list = async (query: string) => (await sts.app.inject({ method: 'GET', url: `/v1/grants?${query}`, headers: sts.admin })).json()

  const first = await list('limit=2')
  t.same(
    first.grants.map((g: { id: string }) => g.id),
    ids.slice(0, 2),
  )
  const second = await list(`limit=2&cursor=${first.nextCursor}`)
  t.same(
    second.grants.map((g: { id: string }) => g.id),
    ids.slice(2, 4),
  )
  const last = await list(`limit=2&cursor=${second.nextCursor}`)
  t.same(
    last.grants.map((g: { id: string }) => g.id),
    ids.slice(4),
  )
  t.notOk('nextCursor' in last, 'the last page says so')

  t.same(
    (await list('owner=team-search')).grants.map((g: { id: string }) => g.id),
    [ids[1], ids[3]],
  )
  t.same(
    (await list(`subject=${encodeURIComponent(SUBJECT_GLOB)}&owner=team-payments`)).grants.map((g: { id: string }) => g.id),
    [ids[0], ids[2]],
  )

  const badCursor = await sts.app.inject({ method: 'GET', url: '/v1/grants?cursor=bogus', headers: sts.admin })
  t.equal(badCursor.statusCode, 400)
  const badLimit = await sts.app.inject({ method: 'GET', url: '/v1/grants?limit=100000', headers: sts.admin })
  t.equal(badLimit.statusCode, 400)
  t.same(
    badLimit.json().errors.map((e: { path: string }) => e.path),
    ['limit'],
  )
  const unknown = await sts.app.inject({ method: 'GET', url: '/v1/grants?colour=red', headers: sts.admin })
  t.same(
    unknown.json().errors.map((e: { path: string }) => e.path),
    ['(query)'],
  )
})

t.test('the admin API is rate limited per client, failed guesses of the token included', async (t) => {
  const sts = await startTestService(t, { config: { limits: { adminRequestsPerMinute: 3 } } })
  const guesses = []
  for (let i = 0; i < 3; i++) {
    guesses.push(
      (await sts.app.inject({ method: 'GET', url: '/v1/grants', headers: { authorization: `Bearer guess-${i}-of-the-admin-token` } }))
        .statusCode,
    )
  }
  t.same(guesses, [401, 401, 401])
  const limited = await sts.app.inject({ method: 'GET', url: '/v1/grants', headers: sts.admin })
  t.equal(limited.statusCode, 429, 'even the right token waits once the limit is spent')
  t.equal(limited.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(limited.json(), {
    title: 'Too many requests',
    status: 429,
    detail: /^rate limit exceeded: retry in \d+ s$/,
    reason: 'rate_limited',
  })
  t.ok(limited.headers['retry-after'])
})
