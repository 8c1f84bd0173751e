import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { createTestCluster, STS_AUDIENCE } from './support/cluster.js'
import { eventually } from './support/eventually.js'
import { freePort } from './support/ports.js'
import { httpRequest, openRaw } from './support/raw-http.js'
import { freshPostgresDatabase, REDIS_URL, uniqueRedisPrefix } from './support/servers.js'
import { openSse } from './support/sse.js'

/** The service as it is started in production: the compiled server, a config file, signals. */
const SERVER = new URL('../dist/src/server.js', import.meta.url).pathname
const ADMIN_TOKEN = 'server-test-admin-token-0123456789'

interface Started {
  child: ChildProcess
  url: string
  output: () => string
  exited: Promise<number | null>
}

async function start(t: Test, config: Record<string, unknown>, env: Record<string, string> = {}): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'sts-server-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'sts.json')
  writeFileSync(file, JSON.stringify({ keys: { dir: join(dir, 'keys') }, ...config }))
  const port = await freePort()
  const child = spawn(process.execPath, [SERVER, '--config', file], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      STS_ADMIN_TOKEN: ADMIN_TOKEN,
      // Every start of a test shares it: two instances on one database must.
      STS_KEY_ENCRYPTION_KEY: Buffer.alloc(32, 5).toString('base64'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  return { child, url: `http://127.0.0.1:${port}`, output: () => output, exited }
}

async function ready(t: Test, started: Started): Promise<void> {
  const answered = await eventually(
    t,
    async () => {
      if (started.child.exitCode !== null) throw new Error(`the service exited: ${started.output()}`)
      return fetch(`${started.url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    },
    { intervalMs: 100, timeoutMs: 20_000, what: 'the service answers /readyz' },
  )
  if (!answered) throw new Error(`the service did not become ready: ${started.output()}`)
}

async function exchangeOnce(t: Test, started: Started, cluster: Awaited<ReturnType<typeof createTestCluster>>): Promise<void> {
  const grant = await fetch(`${started.url}/v1/grants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ subject: 'spiffe://example.org/k8s/prod/**', audiences: ['ledger-api'], owner: 'team-payments' }),
  })
  t.equal(grant.status, 201)
  const response = await fetch(`${started.url}/oauth2/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: await cluster.serviceAccountToken(),
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    }),
  })
  t.equal(response.status, 200, 'a token is issued')
}

async function baseConfig(t: Test) {
  const cluster = await createTestCluster('prod')
  return {
    cluster,
    config: {
      issuer: 'https://sts.test.example',
      trustDomain: 'example.org',
      audience: STS_AUDIENCE,
      database: { url: await freshPostgresDatabase(t) },
      redis: { url: REDIS_URL, keyPrefix: uniqueRedisPrefix() },
      attestors: [{ kind: 'kubernetes', name: 'prod', issuer: cluster.issuer, jwks: cluster.jwks }],
    },
  }
}

t.test('the server starts from a config file, issues tokens, and drains on SIGTERM', async (t) => {
  const { cluster, config } = await baseConfig(t)
  const started = await start(t, config)
  await ready(t, started)
  await exchangeOnce(t, started, cluster)
  started.child.kill('SIGTERM')
  t.equal(await started.exited, 0, 'exits 0 after draining')
  t.match(started.output(), /draining and shutting down/)
  t.notMatch(started.output(), new RegExp(ADMIN_TOKEN), 'the admin token is never logged')
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
