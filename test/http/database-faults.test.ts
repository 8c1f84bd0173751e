import pg from 'pg'
import t from 'tap'
import { eventually } from '../support/eventually.js'
import { freshPostgresDatabase, POSTGRES_ADMIN_URL } from '../support/servers.js'
import { startTcpProxy } from '../support/tcp-proxy.js'
import { JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN } from '../support/service.js'

const SUBJECT = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`

/**
 * Terminates every backend of the test's own database, again and again, while admin writes and
 * exchanges are in flight. Only backends whose datname is that database are touched.
 */
async function startKilling(databaseUrl: string): Promise<{ stop(): Promise<number> }> {
  const name = new URL(databaseUrl).pathname.slice(1)
  const killer = new pg.Client({ connectionString: POSTGRES_ADMIN_URL })
  await killer.connect()
  let running = true
  let killed = 0
  const loop = (async () => {
    while (running) {
      const { rows } = await killer.query<{ n: number }>(
        'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [name],
      )
      killed += rows[0].n
      // The faults' pace, on purpose: at random moments, so they land in every kind of write.
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80))
    }
  })()
  return {
    async stop() {
      running = false
      await loop
      await killer.end()
      return killed
    },
  }
}

t.test('backends terminated during every kind of write: 503s for the requests hit, the process goes on', async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({ subject: SUBJECT, audiences: ['ledger-api'], owner: 'team-payments' })
  const request = { grant_type: TOKEN_EXCHANGE, subject_token: await sts.cluster.serviceAccountToken(), subject_token_type: JWT_TOKEN_TYPE }
  const admin = (method: 'POST' | 'DELETE', url: string, payload?: object) =>
    sts.app
      .inject({ method, url, headers: sts.admin, ...(payload ? { payload } : {}) })
      .then((r) => ({ status: r.statusCode, body: r.body }))

  const killer = await startKilling(sts.databaseUrl!)
  const statuses = new Map<number, number>()
  const unexpected: string[] = []
  const note = (what: string, status: number, body: string) => {
    statuses.set(status, (statuses.get(status) ?? 0) + 1)
    if (status >= 500 && status !== 503) unexpected.push(`${what}: ${status} ${body}`)
  }
  for (let round = 0; round < 40; round++) {
    await Promise.all([
      admin('POST', '/v1/grants', { subject: `${SUBJECT}-${round}`, audiences: ['ledger-api'], owner: 'team-payments' }).then(
        async (created) => {
          note('grant create', created.status, created.body)
          if (created.status === 201) {
            const disabled = await admin('DELETE', `/v1/grants/${JSON.parse(created.body).id}`)
            note('grant disable', disabled.status, disabled.body)
          }
        },
      ),
      admin('POST', '/v1/revocations', { kind: 'subject', value: `spiffe://${TRUST_DOMAIN}/gone/${round}`, reason: 'fault test' }).then(
        async (revoked) => {
          note('revoke', revoked.status, revoked.body)
          if (revoked.status === 201) {
            const lifted = await admin('DELETE', `/v1/revocations/${JSON.parse(revoked.body).revocation.id}`, { reason: 'fault test' })
            note('lift', lifted.status, lifted.body)
          }
        },
      ),
      admin('POST', '/v1/admin-tokens', { name: `fault-${round}`, roles: ['introspect'] }).then((r) =>
        note('admin token', r.status, r.body),
      ),
      ...Array.from({ length: 4 }, () => sts.exchange(request).then((r) => note('exchange', r.statusCode, JSON.stringify(r.body)))),
    ])
  }
  const killed = await killer.stop()
  t.ok(killed > 0, `backends were terminated (${killed})`)
  t.ok((statuses.get(503) ?? 0) > 0, `some requests were hit: ${JSON.stringify(Object.fromEntries(statuses))}`)
  t.same(unexpected, [], 'no answer but 503 for a fault')

  // The same process, with no restart, serves again.
  const ready = await sts.app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200, 'ready again')
  t.equal(
    (await admin('POST', '/v1/grants', { subject: `${SUBJECT}-after`, audiences: ['ledger-api'], owner: 'team-payments' })).status,
    201,
  )
  t.equal((await sts.exchange(request)).statusCode, 200, 'issues again')
})

t.test('the network to Postgres cut while requests are in flight: 503s, then service again once it is back', async (t) => {
  const direct = new URL(await freshPostgresDatabase(t))
  const proxy = await startTcpProxy(direct.hostname, Number(direct.port || 5432))
  t.teardown(() => proxy.close())
  const viaProxy = new URL(proxy.url('postgres'))
  viaProxy.username = direct.username
  viaProxy.pathname = direct.pathname
  const sts = await startTestService(t, { databaseUrl: viaProxy.toString() })
  await sts.createGrant({ subject: SUBJECT, audiences: ['ledger-api'], owner: 'team-payments' })
  const request = { grant_type: TOKEN_EXCHANGE, subject_token: await sts.cluster.serviceAccountToken(), subject_token_type: JWT_TOKEN_TYPE }
  const statuses: number[] = []
  const traffic = Promise.all(
    Array.from({ length: 60 }, async (_, i) => {
      // Spread over 300 ms on purpose, so the cut falls amid the traffic.
      await new Promise((resolve) => setTimeout(resolve, i * 5))
      const grant = sts.app.inject({
        method: 'POST',
        url: '/v1/grants',
        headers: sts.admin,
        payload: { subject: `${SUBJECT}-${i}`, audiences: ['ledger-api'], owner: 'team-payments' },
      })
      statuses.push((await sts.exchange(request)).statusCode, (await grant).statusCode)
    }),
  )
  await eventually(t, () => statuses.length > 0, { what: 'the first requests answered before the cut' })
  proxy.cut()
  await traffic
  t.ok(statuses.includes(503), 'requests after the cut fail closed')
  t.same(
    statuses.filter((status) => ![200, 201, 503].includes(status)),
    [],
    'and nothing else',
  )
  proxy.restore()
  const status = await eventually(t, async () => (await sts.exchange(request)).statusCode, {
    until: (answer) => answer === 200,
    intervalMs: 100,
    timeoutMs: 10_000,
  })
  t.equal(status, 200, 'the same process issues again')
})
