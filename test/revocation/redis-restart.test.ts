import { Redis } from 'ioredis'
import t from 'tap'
import { createTestCluster } from '../support/cluster.js'
import { eventually } from '../support/eventually.js'
import { startOwnRedis } from '../support/redis-server.js'
import { freshPostgresDatabase, uniqueRedisPrefix } from '../support/servers.js'
import { JWT_TOKEN_TYPE, NOW, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN } from '../support/service.js'

/** Nothing revoked is forgotten when Redis restarts empty: it is rebuilt from Postgres. */
t.test('Redis restarting empty: the revocations come back from Postgres, on every instance', async (t) => {
  const redis = await startOwnRedis(t)
  const prefix = uniqueRedisPrefix()
  const shared = {
    databaseUrl: await freshPostgresDatabase(t),
    redisUrl: redis.url,
    redisKeyPrefix: prefix,
    cluster: await createTestCluster('prod', Math.floor(NOW / 1000)),
  }
  const a = await startTestService(t, shared)
  const b = await startTestService(t, shared)
  await a.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  const exchange = async (sts: typeof a, namespace: string) =>
    (
      await sts.exchange({
        grant_type: TOKEN_EXCHANGE,
        subject_token: await shared.cluster.serviceAccountToken({ namespace }),
        subject_token_type: JWT_TOKEN_TYPE,
      })
    ).statusCode

  const revoked = await a.app.inject({
    method: 'POST',
    url: '/v1/revocations',
    headers: a.admin,
    payload: { kind: 'subject', value: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`, reason: 'leaked' },
  })
  t.equal(revoked.statusCode, 201)
  await eventually(t, () => exchange(b, 'payments'), { until: (status) => status === 400, what: 'instance b refuses the revoked identity' })

  await redis.stop()
  await redis.start()

  // Both instances reconnect, find Redis empty, and one of them refills it from Postgres.
  const inspector = new Redis(redis.url)
  t.teardown(() => inspector.disconnect())
  // Until the marker is in: the rebuild writes the revocations and the marker in one step.
  const stored = await eventually(t, () => inspector.hgetall(`${prefix}{revocations}`), {
    until: (fields) => fields['~seq'] !== undefined,
    intervalMs: 50,
    timeoutMs: 10_000,
  })
  t.same(
    Object.keys(stored).filter((field) => !field.startsWith('~')),
    [revoked.json().revocation.id],
    'the revocation is back in Redis',
  )
  t.equal(stored['~seq'], revoked.json().revocation.cursor, 'and the set vouches for the durable log up to it')

  for (const [name, sts] of [
    ['a', a],
    ['b', b],
  ] as const) {
    const current = await eventually(t, async () => sts.services.revocations.isCurrent() && (await exchange(sts, 'search')) === 200, {
      intervalMs: 50,
      timeoutMs: 10_000,
    })
    t.ok(current, `instance ${name} is back in touch and issues tokens`)
    t.equal(await exchange(sts, 'payments'), 400, `instance ${name} still refuses the revoked identity`)
  }

  const second = await b.app.inject({
    method: 'POST',
    url: '/v1/revocations',
    headers: b.admin,
    payload: { kind: 'source', value: 'k8s:prod:node:node-a', reason: 'node compromised' },
  })
  t.equal(second.statusCode, 201)
  // The answer came once every live instance had applied it; a busy machine may still have instance a
  // resynchronising (503) for a moment, but it never issues (200) for the node again.
  const statuses: number[] = []
  const refused = await eventually(
    t,
    async () => {
      const status = await exchange(a, 'search')
      statuses.push(status)
      return status === 400
    },
    { intervalMs: 50, timeoutMs: 10_000 },
  )
  t.notOk(statuses.includes(200), 'no token for the revoked node after the answer')
  t.ok(refused, 'revocations made after the restart still reach every instance')
})
