import t from 'tap'
import { createTestCluster } from '../../support/cluster.js'
import { freshPostgresDatabase, uniqueRedisPrefix } from '../../support/servers.js'
import { NOW, startTestService } from '../../support/service.js'
import { openSse } from '../../support/sse.js'

/** One GET on each of several admin routes, with `authorization`, from `remoteAddress`. */
const ROUTES = [
  '/v1/grants',
  '/v1/revocations',
  '/v1/ledger',
  '/v1/audit',
  '/v1/admin-tokens',
  '/v1/grants/0b8f3c2e-0000-4000-8000-000000000000',
]
const introspectForm = { 'content-type': 'application/x-www-form-urlencoded' }

t.test('one request budget per client across the whole admin API, not one per route', async (t) => {
  const sts = await startTestService(t, { config: { limits: { adminRequestsPerMinute: 5, adminAuthFailuresPerMinute: 0 } } })
  const statuses = []
  for (const url of ROUTES) statuses.push((await sts.app.inject({ method: 'GET', url, headers: sts.admin })).statusCode)
  t.same(statuses, [200, 200, 200, 200, 200, 429], 'the sixth request, on a sixth route, finds the budget spent')
  const limited = await sts.app.inject({
    method: 'POST',
    url: '/v1/revocations',
    headers: sts.admin,
    payload: { kind: 'source', value: 'k8s:prod', reason: 'x' },
  })
  t.equal(limited.statusCode, 429)
  t.match(limited.json(), {
    type: 'about:blank',
    title: 'Too many requests',
    status: 429,
    detail: /^rate limit exceeded: retry in \d+ s$/,
    instance: '/v1/revocations',
    reason: 'rate_limited',
  })
  t.match(limited.headers['retry-after'], /^\d+$/)
  const elsewhere = await sts.app.inject({ method: 'GET', url: '/v1/grants', headers: sts.admin, remoteAddress: '10.0.0.9' })
  t.equal(elsewhere.statusCode, 200, 'another client has its own budget')
  const introspection = await sts.app.inject({
    method: 'POST',
    url: '/oauth2/introspect',
    headers: { ...sts.admin, ...introspectForm },
    payload: 'token=x',
  })
  t.equal(introspection.statusCode, 200, 'introspection keeps its own budget')
})

t.test('failed authentications have a stricter budget of their own, across admin routes and introspection', async (t) => {
  const sts = await startTestService(t, { config: { limits: { adminRequestsPerMinute: 0, adminAuthFailuresPerMinute: 3 } } })
  for (let i = 0; i < 20; i++)
    t.equal((await sts.app.inject({ method: 'GET', url: ROUTES[i % ROUTES.length], headers: sts.admin })).statusCode === 429, false)
  t.pass('successes do not spend it')
  const guess = (url: string) =>
    sts.app.inject({
      method: url === '/oauth2/introspect' ? 'POST' : 'GET',
      url,
      headers: { authorization: 'Bearer a-guess-at-the-admin-token', ...introspectForm },
      payload: 'token=x',
    })
  t.same(
    [(await guess('/v1/grants')).statusCode, (await guess('/oauth2/introspect')).statusCode, (await guess('/v1/audit')).statusCode],
    [401, 401, 401],
  )
  const refused = await sts.app.inject({ method: 'GET', url: '/v1/ledger', headers: sts.admin })
  t.equal(refused.statusCode, 429, 'the right token is refused too once the address has guessed enough')
  t.match(refused.json(), {
    title: 'Too many requests',
    status: 429,
    detail: /^too many failed authentications from this address: retry in \d+ s$/,
    reason: 'too_many_auth_failures',
  })
  const introspection = await sts.app.inject({
    method: 'POST',
    url: '/oauth2/introspect',
    headers: { ...sts.admin, ...introspectForm },
    payload: 'token=x',
  })
  t.equal(introspection.statusCode, 429)
  t.match(introspection.json(), {
    error: 'temporarily_unavailable',
    error_description: /^too many failed authentications from this address: retry in \d+ s$/,
    error_reason: 'too_many_auth_failures',
  })
  t.equal(
    (await sts.app.inject({ method: 'GET', url: '/v1/ledger', headers: sts.admin, remoteAddress: '10.0.0.9' })).statusCode,
    200,
    'not other clients',
  )
})

t.test('with Redis, the budget holds across instances; when Redis cannot count, the admin API fails closed', async (t) => {
  const shared = {
    databaseUrl: await freshPostgresDatabase(t),
    redisKeyPrefix: uniqueRedisPrefix(),
    cluster: await createTestCluster('prod', Math.floor(NOW / 1000)),
    config: { limits: { adminRequestsPerMinute: 4 } },
  }
  const a = await startTestService(t, shared)
  const b = await startTestService(t, shared)
  const statuses = []
  for (const sts of [a, b, a, b, b])
    statuses.push((await sts.app.inject({ method: 'GET', url: '/v1/grants', headers: sts.admin })).statusCode)
  t.same(statuses, [200, 200, 200, 200, 429], 'four between two instances, then refused by either')

  a.services.rateLimitRedis!.disconnect()
  const down = await a.app.inject({ method: 'GET', url: '/v1/grants', headers: a.admin, remoteAddress: '10.0.0.7' })
  t.equal(down.statusCode, 503, 'no counting, no admin API: never an unlimited one')
  t.same(down.json(), {
    type: 'about:blank',
    title: 'Service unavailable',
    status: 503,
    detail: 'the rate limit store cannot be reached',
    instance: '/v1/grants',
    reason: 'rate_limit_unavailable',
  })
})

t.test('an open revocation stream counts once against the admin budget, however many events it carries', async (t) => {
  const sts = await startTestService(t, { config: { limits: { adminRequestsPerMinute: 4, adminAuthFailuresPerMinute: 0 } } })
  const url = await sts.app.listen({ host: '127.0.0.1', port: 0 })
  const stream = await openSse(`${url}/v1/revocations/stream`, sts.admin)
  t.teardown(() => stream.close())
  t.equal(stream.status, 200)
  for (const value of ['k8s:prod:node:a', 'k8s:prod:node:b']) {
    const revoked = await fetch(`${url}/v1/revocations`, {
      method: 'POST',
      headers: { ...sts.admin, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'source', value, reason: 'x' }),
    })
    t.equal(revoked.status, 201)
    t.match(JSON.parse((await stream.next(5000)).data!), { value })
  }
  t.equal((await fetch(`${url}/v1/grants`, { headers: sts.admin })).status, 200, 'the fourth request of the minute')
  t.equal((await fetch(`${url}/v1/grants`, { headers: sts.admin })).status, 429, 'the fifth: the stream was one of four')
})
