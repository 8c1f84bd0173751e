import t, { type Test } from 'tap'
import { createFakeCluster, STS_AUDIENCE, type FakeCluster } from './support/cluster.js'
import { eventually } from './support/eventually.js'
import { serverReady, startServerProcess, type ServerProcess } from './support/server-process.js'
import { freshPostgresDatabase, REDIS_URL, uniqueRedisPrefix } from './support/servers.js'

/** SIGHUP to the compiled server (src/server.ts, src/workers.ts): the configuration file read again, in place. */

const ADMIN_TOKEN = 'server-reload-test-admin-token-0123'
const ENV = {
  STS_ADMIN_TOKEN: ADMIN_TOKEN,
  LOG_LEVEL: 'info',
  STS_KEY_ENCRYPTION_KEY: Buffer.alloc(32, 5).toString('base64'),
  STS_SOURCE_HASH_KEY: Buffer.alloc(32, 6).toString('base64'),
}

async function clusters() {
  return {
    prod: await createFakeCluster({ name: 'prod', issuer: 'https://prod.kubernetes.test.example' }),
    staging: await createFakeCluster({ name: 'staging', issuer: 'https://staging.kubernetes.test.example' }),
  }
}

const attestorOf = (cluster: FakeCluster) => ({ kind: 'kubernetes', name: cluster.name, issuer: cluster.issuer, jwks: cluster.jwks })

async function baseConfig(t: Test, attestors: Record<string, unknown>[]) {
  return {
    issuer: 'https://sts.test.example',
    trustDomain: 'example.org',
    audience: STS_AUDIENCE,
    database: { url: await freshPostgresDatabase(t) },
    redis: { url: REDIS_URL, keyPrefix: uniqueRedisPrefix() },
    attestors,
  }
}

async function grantEveryCluster(t: Test, started: ServerProcess): Promise<void> {
  const response = await fetch(`${started.url}/v1/grants`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ subject: 'spiffe://example.org/k8s/*/ns/payments/sa/api', audiences: ['ledger-api'], owner: 'team-platform' }),
  })
  t.equal(response.status, 201)
}

/** `issued`, or the refusal's error_reason. */
async function exchange(started: ServerProcess, cluster: FakeCluster): Promise<string> {
  const response = await fetch(`${started.url}/oauth2/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: await cluster.serviceAccountToken(),
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    }),
  })
  const body = (await response.json()) as Record<string, unknown>
  return response.status === 200 ? 'issued' : String(body.error_reason)
}

/** Sends SIGHUP and waits for the reload's log line (the n-th one from the start); returns it. */
async function hangUp(t: Test, started: ServerProcess, n: number): Promise<Record<string, unknown>> {
  started.child.kill('SIGHUP')
  const reloads = await eventually(t, () => started.logs().filter((line) => typeof line.reload === 'string'), {
    until: (lines) => lines.length >= n,
    what: `reload ${n} is logged`,
  })
  return reloads[n - 1] ?? {}
}

t.test('SIGHUP reloads the configuration file in place: a new cluster is trusted, a removed one no longer', async (t) => {
  const { prod, staging } = await clusters()
  const config = await baseConfig(t, [attestorOf(prod)])
  const started = await startServerProcess(t, config, ENV)
  await serverReady(t, started)
  await grantEveryCluster(t, started)
  t.equal(await exchange(started, prod), 'issued')
  t.equal(await exchange(started, staging), 'issuer_unknown')

  started.write({ ...config, attestors: [attestorOf(staging)] })
  t.match(await hangUp(t, started, 1), {
    level: 30,
    msg: 'configuration reloaded',
    trigger: 'SIGHUP',
    changed: ['attestors.prod', 'attestors.staging'],
    attestors: { added: ['staging'], removed: ['prod'], changed: [] },
  })
  t.equal(await exchange(started, staging), 'issued', 'the new cluster exchanges')
  t.equal(await exchange(started, prod), 'issuer_unknown', 'the removed one is refused')
  t.equal(started.child.exitCode, null, 'the process is still running')
  t.notMatch(started.output(), new RegExp(ADMIN_TOKEN), 'the admin token is never logged')
})

t.test('SIGHUP with a configuration that cannot be applied: the process stays up on the old one, and the log says why', async (t) => {
  const { prod, staging } = await clusters()
  const config = await baseConfig(t, [attestorOf(prod)])
  const started = await startServerProcess(t, config, ENV)
  await serverReady(t, started)
  await grantEveryCluster(t, started)

  started.write({
    ...config,
    attestors: [attestorOf(prod), { ...attestorOf(staging), name: 'Staging!' }],
    limits: { tokenRequestsPerMinute: -1 },
  })
  t.match(await hangUp(t, started, 1), {
    level: 50,
    msg: 'configuration reload refused: the running configuration is kept',
    reload: 'refused',
    problems: [
      'limits.tokenRequestsPerMinute: Too small: expected number to be >=0',
      'attestors.1.name: must be a DNS label (lowercase letters, digits, "-")',
    ],
  })
  t.equal(await exchange(started, prod), 'issued', 'the old configuration still serves')

  started.write({ ...config, issuer: 'https://other.test.example', attestors: [attestorOf(prod), attestorOf(staging)] })
  t.match(await hangUp(t, started, 2), {
    level: 40,
    reload: 'refused',
    changed: ['issuer', 'attestors.staging'],
    problems: ['issuer cannot change at run time: restart the service to apply it'],
  })
  t.equal(await exchange(started, staging), 'issuer_unknown', 'nothing of that file is applied')

  started.write({ ...config, attestors: [attestorOf(prod), attestorOf(staging)] })
  t.match(await hangUp(t, started, 3), { reload: 'applied', changed: ['attestors.staging'] })
  t.equal(await exchange(started, staging), 'issued')
  t.equal(await exchange(started, prod), 'issued')
  t.equal(started.child.exitCode, null)
})

t.test('with workers, SIGHUP to the primary reaches every worker', async (t) => {
  const { prod, staging } = await clusters()
  const config = { ...(await baseConfig(t, [attestorOf(prod)])), workers: 2 }
  const started = await startServerProcess(t, config, ENV)
  await serverReady(t, started)
  const readyWorkers = () =>
    new Set(
      started
        .logs()
        .filter((l) => l.msg === 'seed-sts is ready')
        .map((l) => l.pid),
    )
  await eventually(t, () => readyWorkers().size, {
    until: (n) => n >= 2,
    intervalMs: 100,
    timeoutMs: 10_000,
    what: 'both workers are ready',
  })
  await grantEveryCluster(t, started)

  started.write({ ...config, attestors: [attestorOf(prod), attestorOf(staging)] })
  started.child.kill('SIGHUP')
  const reloaded = await eventually(
    t,
    () =>
      new Set(
        started
          .logs()
          .filter((l) => l.msg === 'configuration reloaded' && l.trigger === 'SIGHUP')
          .map((l) => l.pid),
      ),
    { until: (pids) => pids.size >= 2, what: 'both workers reload' },
  )
  t.same(reloaded, readyWorkers(), 'each worker reloaded')
  t.match(
    started.logs().find((l) => l.msg === 'asking every worker to reload its configuration'),
    { workers: 2 },
  )
  // Whichever worker answers, staging is trusted.
  for (let i = 0; i < 6; i++) t.equal(await exchange(started, staging), 'issued')
  started.child.kill('SIGTERM')
  t.equal(await started.exited, 0, 'and the process group still stops as before')
})
