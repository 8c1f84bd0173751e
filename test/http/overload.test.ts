import t, { type Test } from 'tap'
import { eventually } from '../support/eventually.js'
import { openRaw } from '../support/raw-http.js'
import { parseScrape, samplesOf } from '../support/scrape.js'
import { openSse } from '../support/sse.js'
import { JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN, type TestService } from '../support/service.js'

/**
 * Load shedding, driven for real: the event loop of this very process (which hosts the service) is
 * starved by a busy loop here in the test, and requests are held in flight over a real connection.
 * Nothing in src/ helps: the service measures its own loop as it would in production.
 */

/** Keeps the event loop busy for `ms`: what a CPU-bound burst does to the service. */
function starve(ms: number): void {
  const until = performance.now() + ms
  while (performance.now() < until) {
    // busy
  }
}

/**
 * Sustained lag: the loop busy `chunkMs` at a time, free only for a moment between, for `totalMs`.
 * Lag is measured as a mean over the sample, so one long stall among many quick turns barely moves
 * it; what sheds is a loop that stays behind. Requests sent meanwhile are answered in the gaps.
 */
async function starveFor(totalMs: number, chunkMs = 200): Promise<void> {
  const until = performance.now() + totalMs
  while (performance.now() < until) {
    starve(chunkMs)
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}

async function service(t: Test, overload: Record<string, number>): Promise<TestService> {
  const sts = await startTestService(t, { config: { overload: { retryAfterSeconds: 7, ...overload } } })
  await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  return sts
}

async function tokenRequest(sts: TestService) {
  return sts.app.inject({
    method: 'POST',
    url: '/oauth2/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      grant_type: TOKEN_EXCHANGE,
      subject_token: await sts.cluster.serviceAccountToken(),
      subject_token_type: JWT_TOKEN_TYPE,
    }).toString(),
  })
}

const shedToken = (why: string) => ({
  error: 'temporarily_unavailable',
  error_description: `this instance is overloaded (${why}): retry in 7 s`,
  error_reason: 'overloaded',
})

const shedProblem = (why: string, instance: string) => ({
  type: 'about:blank',
  title: 'Service unavailable',
  status: 503,
  detail: `this instance is overloaded (${why}): retry in 7 s`,
  instance,
  reason: 'overloaded',
})

/** Health and discovery answer whatever the load. */
async function assertNotShed(t: Test, sts: TestService): Promise<void> {
  const [live, ready, jwks] = await Promise.all([
    sts.app.inject({ method: 'GET', url: '/healthz' }),
    sts.app.inject({ method: 'GET', url: '/readyz' }),
    sts.app.inject({ method: 'GET', url: '/.well-known/jwks.json' }),
  ])
  t.same([live.statusCode, live.json()], [200, { status: 'ok' }], '/healthz is never shed')
  t.same([ready.statusCode, ready.json()], [200, { status: 'ready' }], '/readyz is never shed, and overload does not make it unready')
  t.equal(jwks.statusCode, 200, 'nor is the JWKS')
}

const LAG = 'its event loop lags more than overload.maxEventLoopDelayMs'

t.test(
  'event-loop lag past its bound: token and admin requests are shed with 503 and Retry-After, health is not; then it recovers',
  async (t) => {
    // A 500 ms sample, so the lag measured stays in force long enough to send every request below.
    const sts = await service(t, { maxEventLoopDelayMs: 100, sampleIntervalMs: 500, maxRequestsInFlight: 0 })
    // The service's own start stalls the loop (keys, schemas) and may show in the first sample: once that
    // has passed, tokens are issued.
    t.ok(
      await eventually(t, async () => (await tokenRequest(sts)).statusCode === 200, { timeoutMs: 10_000, what: 'tokens issued' }),
      'before: tokens are issued',
    )

    const starving = starveFor(2500)
    // The lag is measured once a sample: wait for a sample that saw the starvation.
    await eventually(t, () => sts.app.memoryUsage().eventLoopDelay > 100, { intervalMs: 5, timeoutMs: 3000, what: 'the lag is measured' })
    const [token, admin] = await Promise.all([tokenRequest(sts), sts.app.inject({ method: 'GET', url: '/v1/grants', headers: sts.admin })])
    t.ok(sts.app.memoryUsage().eventLoopDelay > 100, 'still lagging when they were answered')
    t.equal(token.statusCode, 503)
    t.equal(token.headers['retry-after'], '7')
    t.equal(token.headers['cache-control'], 'no-store')
    t.match(token.headers['content-type'], /^application\/json/)
    t.same(token.json(), shedToken(LAG), 'an RFC 6749 error, no stack, nothing of the measurement')
    t.equal(admin.statusCode, 503)
    t.equal(admin.headers['retry-after'], '7')
    t.match(admin.headers['content-type'], /^application\/problem\+json/)
    t.same(admin.json(), shedProblem(LAG, '/v1/grants'), 'an RFC 9457 problem on the admin API')
    await assertNotShed(t, sts)
    await starving

    const recovered = await eventually(t, async () => (await tokenRequest(sts)).statusCode, {
      until: (status) => status === 200,
      intervalMs: 100,
      timeoutMs: 5000,
      what: 'tokens are issued again once the loop is free',
    })
    t.equal(recovered, 200)
  },
)

t.test('event-loop utilization past its bound sheds too (off by default)', async (t) => {
  const sts = await service(t, { maxEventLoopDelayMs: 0, maxEventLoopUtilization: 0.5, sampleIntervalMs: 500, maxRequestsInFlight: 0 })
  t.equal((await tokenRequest(sts)).statusCode, 200)
  const starving = starveFor(2500, 50)
  await eventually(t, () => sts.app.memoryUsage().eventLoopUtilized > 0.5, {
    intervalMs: 5,
    timeoutMs: 3000,
    what: 'the utilization is measured',
  })
  const token = await tokenRequest(sts)
  t.ok(sts.app.memoryUsage().eventLoopUtilized > 0.5, 'still busy when it was answered')
  t.equal(token.statusCode, 503)
  t.equal(token.headers['retry-after'], '7')
  t.same(token.json(), shedToken('its event loop is busier than overload.maxEventLoopUtilization'))
  await assertNotShed(t, sts)
  await starving
  await eventually(t, async () => (await tokenRequest(sts)).statusCode, {
    until: (status) => status === 200,
    intervalMs: 100,
    timeoutMs: 5000,
  })
})

t.test('with the defaults, a stall of 150 ms sheds nothing: lag is measured as a mean over the sample', async (t) => {
  // `overload: {}`: the defaults (the test services turn the lag bound off).
  const sts = await startTestService(t, { config: { overload: {} } })
  await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  t.same(sts.services.config.overload, {
    maxEventLoopDelayMs: 200,
    maxEventLoopUtilization: 0,
    maxRequestsInFlight: 512,
    sampleIntervalMs: 1000,
    retryAfterSeconds: 5,
  })
  // A 150 ms stall (a full garbage collection on a large heap) within a one-second sample.
  starve(150)
  for (let i = 0; i < 12; i++) {
    t.equal((await tokenRequest(sts)).statusCode, 200)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
})

t.test('requests in flight past their bound: the next is shed until one finishes; streams and health do not count', async (t) => {
  const sts = await service(t, { maxEventLoopDelayMs: 0, maxRequestsInFlight: 1 })
  const url = await sts.app.listen({ host: '127.0.0.1', port: 0 })

  // A revocation stream stays open: shed when it opens if it must, but never counted while open.
  const stream = await openSse(`${url}/v1/revocations/stream`, sts.admin)
  t.teardown(() => stream.close())
  t.equal(stream.status, 200)
  t.equal((await tokenRequest(sts)).statusCode, 200, 'an open stream leaves room for a request')

  // A token request whose body is still arriving is in flight.
  const slow = await openRaw(url)
  t.teardown(() => slow.socket.destroy())
  const body = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE,
    subject_token: await sts.cluster.serviceAccountToken(),
    subject_token_type: JWT_TOKEN_TYPE,
  }).toString()
  slow.write(
    `POST /oauth2/token HTTP/1.1\r\nHost: sts\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
  )
  // Received (the drain counts every request, the stream's too), so it holds the one place.
  await eventually(t, () => sts.services.drain.requestsInFlight === 2, { what: 'the slow request is received' })
  const shed = await tokenRequest(sts)
  t.equal(shed.statusCode, 503)
  t.equal(shed.headers['retry-after'], '7')
  t.same(shed.json(), shedToken('it is answering overload.maxRequestsInFlight requests already'))
  const admin = await sts.app.inject({ method: 'GET', url: '/v1/grants', headers: sts.admin })
  t.same(
    [admin.statusCode, admin.json()],
    [503, shedProblem('it is answering overload.maxRequestsInFlight requests already', '/v1/grants')],
  )
  const lateStream = await fetch(`${url}/v1/revocations/stream`, { headers: { accept: 'text/event-stream', ...sts.admin } })
  t.same(
    [lateStream.status, await lateStream.json()],
    [503, shedProblem('it is answering overload.maxRequestsInFlight requests already', '/v1/revocations/stream')],
    'a stream that would open past the bound is shed',
  )
  await assertNotShed(t, sts)

  // The slow request finishes: its place is free again.
  const finished = slow.request(body.slice(10))
  t.equal((await finished).status, 200, 'the request in flight was answered as usual')
  t.equal((await tokenRequest(sts)).statusCode, 200, 'and the next one is served')

  // Shed is counted apart from the failures (`unavailable`), so the error-ratio alert measures failures.
  const scrape = await sts.app.inject({ method: 'GET', url: '/metrics' })
  t.same(samplesOf(parseScrape(scrape.body), 'sts_token_exchanges_total'), [
    { labels: { outcome: 'issued', error: 'none', reason: 'none', attestor_kind: 'kubernetes', attestor: 'prod' }, value: 3 },
    {
      labels: { outcome: 'shed', error: 'temporarily_unavailable', reason: 'overloaded', attestor_kind: 'unknown', attestor: 'unknown' },
      value: 1,
    },
  ])
})
