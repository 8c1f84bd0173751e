import pg from 'pg'
import t from 'tap'
import { eventually } from '../support/eventually.js'
import { JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN } from '../support/service.js'
import { REDIS_URL } from '../support/servers.js'
import { startTcpProxy } from '../support/tcp-proxy.js'

const SUBJECT = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`

/** No token without a ledger row; no token when revocation state cannot be checked. */
t.test('when the ledger cannot be written, the exchange fails with 503 and no token', async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({ subject: SUBJECT, audiences: ['ledger-api'], owner: 'team-payments' })
  const request = { grant_type: TOKEN_EXCHANGE, subject_token: await sts.cluster.serviceAccountToken(), subject_token_type: JWT_TOKEN_TYPE }

  const db = new pg.Client({ connectionString: sts.databaseUrl })
  await db.connect()
  t.teardown(() => db.end())
  // A real fault in the real database: the ledger's table is not there to write to.
  await db.query('ALTER TABLE ledger_rows RENAME TO ledger_away')
  const refused = await sts.exchange(request)
  t.equal(refused.statusCode, 503)
  t.same(refused.body, {
    error: 'temporarily_unavailable',
    error_description: 'the token ledger cannot be written',
    error_reason: 'ledger_unavailable',
  })

  await db.query('ALTER TABLE ledger_away RENAME TO ledger_rows')
  const recovered = await sts.exchange(request)
  t.equal(recovered.statusCode, 200, 'recovers by itself once the ledger is back')
  const { rows } = await db.query('SELECT count(*)::int AS n FROM ledger')
  t.equal(rows[0].n, 1, 'exactly one row: the token that was issued')
})

t.test('out of touch with Redis, the exchange fails closed at once, and recovers without a restart', async (t) => {
  const redis = new URL(REDIS_URL)
  const proxy = await startTcpProxy(redis.hostname, Number(redis.port || 6379))
  t.teardown(() => proxy.close())
  // Without the identity budget, whose count in Redis would otherwise fail first (rate_limit_unavailable):
  // this is about the revocation state.
  const sts = await startTestService(t, {
    redisUrl: proxy.url('redis'),
    config: { redis: { maxStalenessMs: 1500, heartbeatMs: 100 }, limits: { tokenRequestsPerIdentityPerMinute: 0 } },
  })
  await sts.createGrant({ subject: SUBJECT, audiences: ['ledger-api'], owner: 'team-payments' })
  const request = { grant_type: TOKEN_EXCHANGE, subject_token: await sts.cluster.serviceAccountToken(), subject_token_type: JWT_TOKEN_TYPE }
  t.equal((await sts.exchange(request)).statusCode, 200)

  proxy.cut()
  // A dropped subscription may have missed a change: refused from that moment, not only after the bound
  // (1.5 s), hence the deadline under it.
  await eventually(t, () => !sts.services.revocations.isCurrent(), { timeoutMs: 1000, what: 'the instance knows the subscription dropped' })
  const refused = await sts.exchange(request)
  t.equal(refused.statusCode, 503)
  t.same(refused.body, {
    error: 'temporarily_unavailable',
    error_description: 'revocation state cannot be checked: the subscription to the revocation store (Redis) dropped; reloading',
    error_reason: 'revocations_unavailable',
  })
  const ready = await sts.app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 503, 'readiness says so too')
  t.equal(ready.headers['content-type'], 'application/problem+json; charset=utf-8')

  proxy.restore()
  const status = await eventually(t, async () => (await sts.exchange(request)).statusCode, {
    until: (answer) => answer === 200,
    intervalMs: 100,
    timeoutMs: 10_000,
  })
  t.equal(status, 200, 'serves again once Redis is reachable and the revocations are reloaded')
  t.equal(
    (await sts.services.ledger.search({ limit: 10 }, new Date(sts.clock.now()))).items.length,
    2,
    'the ledger holds only the issued tokens',
  )
})

t.test('when Postgres cannot be reached, the exchange fails closed', async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({ subject: SUBJECT, audiences: ['ledger-api'], owner: 'team-payments' })
  const request = { grant_type: TOKEN_EXCHANGE, subject_token: await sts.cluster.serviceAccountToken(), subject_token_type: JWT_TOKEN_TYPE }
  await sts.services.database.close()
  const refused = await sts.exchange(request)
  t.equal(refused.statusCode, 503)
  // The grants are held in memory (pushed, within their staleness bound): the ledger write is the store that says so.
  t.match(refused.body, { error: 'temporarily_unavailable', error_reason: 'ledger_unavailable' })
  t.notOk('access_token' in refused.body)
})
