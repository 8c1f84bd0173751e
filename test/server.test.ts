import t from 'tap'
import { createPostgresDatabase } from '../src/db/postgres.js'
import { eventually } from './support/eventually.js'
import { httpRequest, openRaw } from './support/raw-http.js'
import { ADMIN_TOKEN, baseConfig, exchangeOnce, ready, start } from './support/compiled-server.js'
import { openSse } from './support/sse.js'

t.test('the server starts from a config file, issues tokens, and drains on SIGTERM, writing the inventory it holds', async (t) => {
  const { cluster, config } = await baseConfig(t)
  // An interval the test never reaches: only the shutdown writes the roll-ups.
  const started = await start(t, { ...config, inventory: { flushIntervalSeconds: 300 } })
  await ready(t, started)
  await exchangeOnce(t, started, cluster)
  started.child.kill('SIGTERM')
  t.equal(await started.exited, 0, 'exits 0 after draining')
  t.match(started.output(), /draining and shutting down/)
  t.notMatch(started.output(), new RegExp(ADMIN_TOKEN), 'the admin token is never logged')
  const db = createPostgresDatabase({ url: config.database.url, poolSize: 1 })
  t.teardown(() => db.close())
  t.same(
    await db.query('SELECT i.subject, d.tokens::int AS tokens FROM identities i JOIN identity_daily_tokens d ON d.identity_id = i.id'),
    [{ subject: 'spiffe://example.org/k8s/prod/ns/payments/sa/api', tokens: 1 }],
    "the token's roll-ups were written at the stop",
  )
})

t.test('SIGTERM drains within shutdown.drainSeconds, whatever the clients do', async (t) => {
  const { config } = await baseConfig(t)
  const started = await start(t, { ...config, shutdown: { drainSeconds: 2 } })
  await ready(t, started)
  const stream = await openSse(`${started.url}/v1/revocations/stream`, { authorization: `Bearer ${ADMIN_TOKEN}` })
  t.equal(stream.status, 200)
  const form = { 'content-type': 'application/x-www-form-urlencoded' }
  // Two clients that sent half a body: one finishes during the drain, one never does.
  const finishing = await openRaw(started.url)
  finishing.write(httpRequest('POST', '/oauth2/token', form, 'grant_type=password&x=1').slice(0, -5))
  const stalled = await openRaw(started.url)
  stalled.write(httpRequest('POST', '/oauth2/token', form, 'grant_type=password&x=1').slice(0, -5))
  // Two kept-alive connections, idle when the signal comes.
  const oauthClient = await openRaw(started.url)
  const adminClient = await openRaw(started.url)
  t.equal((await oauthClient.request(httpRequest('GET', '/healthz', {}))).status, 200)
  t.equal((await adminClient.request(httpRequest('GET', '/healthz', {}))).status, 200)
  // A pause on purpose: nothing outside the process shows that it has read the two half bodies (and so
  // holds two requests in flight), and on loopback 300 ms is ample for it.
  await new Promise((resolve) => setTimeout(resolve, 300))

  const signalledAt = Date.now()
  started.child.kill('SIGTERM')
  t.match(await stream.next(5000), { event: 'shutdown', data: /reconnect with Last-Event-ID/ }, 'the stream gets a last event')

  const token = await oauthClient.request(httpRequest('POST', '/oauth2/token', form, 'grant_type=password'))
  t.equal(token.status, 503, 'a request on a kept-alive connection is answered, not reset')
  t.equal(token.headers.connection, 'close')
  t.same(JSON.parse(token.body), {
    error: 'temporarily_unavailable',
    error_description: 'the service is shutting down; retry on another instance',
    error_reason: 'shutting_down',
  })
  await oauthClient.closed
  const readiness = await adminClient.request(httpRequest('GET', '/readyz', {}))
  t.equal(readiness.status, 503, 'not ready any more')
  t.equal(readiness.headers.connection, 'close')
  t.match(JSON.parse(readiness.body), {
    type: 'about:blank',
    title: 'Service unavailable',
    status: 503,
    detail: 'the service is shutting down; retry on another instance',
    instance: '/readyz',
    reason: 'shutting_down',
  })

  finishing.write('d&x=1')
  const finished = await new Promise<string>((resolve) => finishing.socket.once('data', (chunk) => resolve(chunk.toString())))
  t.match(finished, /^HTTP\/1\.1 400 /, 'a request in flight is answered')
  t.match(finished, /\r\nconnection: close\r\n/i, 'and its connection is not kept')

  const outcome = await Promise.race([started.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 2000 + 5000))])
  t.equal(outcome, 0, 'exits 0 within the drain time and a margin')
  t.ok(Date.now() - signalledAt < 7000)
  t.match(await stalled.closed, '', 'the stalled client was cut off at the deadline')
  t.match(started.output(), /drain time is up: closing the connections still open/)
})

t.test('with workers, several processes serve one port and all stop on SIGTERM', async (t) => {
  const { cluster, config } = await baseConfig(t)
  const started = await start(t, { ...config, workers: 2 })
  await ready(t, started)
  await exchangeOnce(t, started, cluster)
  const readyWorkers = () =>
    new Set(
      started
        .output()
        .split('\n')
        .filter((l) => l.includes('seed-sts is ready'))
        .map((l) => JSON.parse(l).pid),
    )
  // /readyz answers as soon as one worker listens; the other may still be starting.
  await eventually(t, () => readyWorkers().size, { until: (workers) => workers >= 2, intervalMs: 100, timeoutMs: 10_000 })
  const pids = readyWorkers()
  t.equal(pids.size, 2, 'two workers are ready')
  started.child.kill('SIGTERM')
  t.equal(await started.exited, 0)
  for (const pid of pids) t.throws(() => process.kill(pid, 0), 'worker is gone')
})

t.test('a configuration problem stops the start with a readable message and exit code 2', async (t) => {
  const started = await start(t, { issuer: 'not a url', trustDomain: 'example.org', audience: 'sts', workers: 2 })
  t.equal(await started.exited, 2)
  t.match(started.output(), /^seed-sts: invalid configuration:\n {2}- issuer: /)
  t.match(started.output(), /workers: several workers need a shared database and Redis/)
  t.notMatch(started.output(), /\n\s+at /, 'no stack trace')
})
