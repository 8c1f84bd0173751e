import { Redis } from 'ioredis'
import pg from 'pg'
import t, { type Test } from 'tap'
import { createTestCluster } from '../support/cluster.js'
import { eventually } from '../support/eventually.js'
import { freshPostgresDatabase, REDIS_URL, uniqueRedisPrefix } from '../support/servers.js'
import { JWT_TOKEN_TYPE, NOW, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN, type TestService } from '../support/service.js'
import { startTcpProxy } from '../support/tcp-proxy.js'

/** The revocation set in Redis vouches only for what it holds: lost or restored old, it is found out and rebuilt from Postgres. */
const subjectOf = (namespace: string) => `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/${namespace}/sa/api`

async function setup(t: Test, redisUrl = REDIS_URL) {
  const prefix = uniqueRedisPrefix()
  const shared = {
    databaseUrl: await freshPostgresDatabase(t),
    redisUrl,
    redisKeyPrefix: prefix,
    cluster: await createTestCluster('prod', Math.floor(NOW / 1000)),
    config: { redis: { heartbeatMs: 100, maxStalenessMs: 3000 } },
  }
  const inspector = new Redis(REDIS_URL)
  t.teardown(() => inspector.disconnect())
  const exchange = async (sts: TestService, namespace: string) =>
    (
      await sts.exchange({
        grant_type: TOKEN_EXCHANGE,
        subject_token: await shared.cluster.serviceAccountToken({ namespace }),
        subject_token_type: JWT_TOKEN_TYPE,
      })
    ).statusCode
  const revoke = async (sts: TestService, namespace: string) => {
    const response = await sts.app.inject({
      method: 'POST',
      url: '/v1/revocations',
      headers: sts.admin,
      payload: { kind: 'subject', value: subjectOf(namespace), reason: 'leaked' },
    })
    if (response.statusCode !== 201) throw new Error(`not revoked: ${response.statusCode} ${response.body}`)
    return response.json().revocation as { id: string; cursor: string }
  }
  const stored = async () => inspector.hgetall(`${prefix}{revocations}`)
  return { shared, prefix, inspector, exchange, revoke, stored }
}

t.test('the revocations hash deleted (the marker with it): a starting instance rebuilds it and refuses the revoked', async (t) => {
  const { shared, prefix, inspector, exchange, revoke, stored } = await setup(t)
  const a = await startTestService(t, shared)
  await a.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  const revoked = await revoke(a, 'payments')
  // The operator's DEL (or an eviction): everything goes, and with it what vouched for it.
  await inspector.del(`${prefix}{revocations}`)
  const c = await startTestService(t, shared)
  t.equal(await exchange(c, 'payments'), 400, 'an instance started after the loss refuses the revoked identity')
  t.equal(await exchange(c, 'search'), 200, 'and issues to others')
  const fields = await stored()
  t.same(
    Object.keys(fields).filter((f) => !f.startsWith('~')),
    [revoked.id],
    'the set is back in Redis',
  )
  t.equal(fields['~seq'], revoked.cursor)
  t.equal(await exchange(a, 'payments'), 400, 'the running instance kept it all along')
})

t.test('Redis restored from an older snapshot: both instances reload, find it behind Postgres, and refuse all the revoked', async (t) => {
  const redis = new URL(REDIS_URL)
  const proxy = await startTcpProxy(redis.hostname, Number(redis.port || 6379))
  t.teardown(() => proxy.close())
  const { shared, prefix, inspector, exchange, revoke, stored } = await setup(t, proxy.url('redis'))
  const a = await startTestService(t, shared)
  const b = await startTestService(t, shared)
  await a.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  await revoke(a, 'old')
  const snapshot = await stored()
  const newest = [await revoke(a, 'new-1'), await revoke(b, 'new-2'), await revoke(a, 'new-3')]

  // Redis goes away and comes back with the older snapshot: the marker is there, the newest are not.
  proxy.cut()
  await inspector.del(`${prefix}{revocations}`)
  await inspector.hset(`${prefix}{revocations}`, snapshot)
  proxy.restore()

  for (const [name, sts] of [
    ['a', a],
    ['b', b],
  ] as const) {
    const statuses = [
      await eventually(t, () => exchange(sts, 'search'), {
        until: (status) => sts.services.revocations.isCurrent() && status === 200,
        intervalMs: 50,
        timeoutMs: 10_000,
      }),
    ]
    statuses.push(...(await Promise.all(['old', 'new-1', 'new-2', 'new-3'].map((ns) => exchange(sts, ns)))))
    t.same(statuses, [200, 400, 400, 400, 400], `instance ${name} issues again, and to none of the revoked`)
  }
  const fields = await stored()
  t.same(
    Object.keys(fields)
      .filter((f) => !f.startsWith('~'))
      .sort(),
    [...Object.keys(snapshot).filter((f) => !f.startsWith('~')), ...newest.map((r) => r.id)].sort(),
    'Redis holds them all again',
  )
  t.equal(fields['~seq'], newest[2].cursor)
})

t.test('a subscription that drops fails closed at once, and serves again once reloaded', async (t) => {
  const redis = new URL(REDIS_URL)
  const proxy = await startTcpProxy(redis.hostname, Number(redis.port || 6379))
  t.teardown(() => proxy.close())
  const { shared, exchange } = await setup(t, proxy.url('redis'))
  // Without the identity budget, whose count in Redis would otherwise fail first: this is about revocations.
  const sts = await startTestService(t, { ...shared, config: { ...shared.config, limits: { tokenRequestsPerIdentityPerMinute: 0 } } })
  await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  t.equal(await exchange(sts, 'search'), 200)
  proxy.cut()
  // Well within the staleness bound (3 s): the old code served from memory all that time.
  const refused = await eventually(
    t,
    async () =>
      sts.exchange({
        grant_type: TOKEN_EXCHANGE,
        subject_token: await shared.cluster.serviceAccountToken({ namespace: 'search' }),
        subject_token_type: JWT_TOKEN_TYPE,
      }),
    { until: (response) => response.statusCode === 503, timeoutMs: 1000 },
  )
  t.same(refused.body, {
    error: 'temporarily_unavailable',
    error_description: 'revocation state cannot be checked: the subscription to the revocation store (Redis) dropped; reloading',
    error_reason: 'revocations_unavailable',
  })
  proxy.restore()
  const status = await eventually(t, () => exchange(sts, 'search'), {
    until: (answer) => answer === 200,
    intervalMs: 100,
    timeoutMs: 10_000,
  })
  t.equal(status, 200, 'serves again once reloaded')
})

t.test('from the moment the API answers, no instance mints for the revoked, even with Redis slow to tell them', async (t) => {
  const redis = new URL(REDIS_URL)
  const proxies = [
    await startTcpProxy(redis.hostname, Number(redis.port || 6379)),
    await startTcpProxy(redis.hostname, Number(redis.port || 6379)),
  ]
  t.teardown(() => Promise.all(proxies.map((p) => p.close())))
  const { shared, exchange } = await setup(t)
  const a = await startTestService(t, { ...shared, redisUrl: proxies[0].url('redis') })
  const b = await startTestService(t, { ...shared, redisUrl: proxies[1].url('redis') })
  await a.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  const rounds: number[][] = []
  for (let round = 0; round < 3; round++) {
    const namespace = `round-${round}`
    // Each round starts just after both subscriptions reconnected, then Redis is slow to deliver.
    for (const proxy of proxies) proxy.cut()
    await eventually(t, () => !a.services.revocations.isCurrent() && !b.services.revocations.isCurrent(), {
      what: 'both instances know they are cut off',
    })
    for (const proxy of proxies) proxy.restore()
    const before = await eventually(
      t,
      async () =>
        a.services.revocations.isCurrent() && b.services.revocations.isCurrent()
          ? [await exchange(a, namespace), await exchange(b, namespace)]
          : [],
      { until: (statuses) => statuses.join() === '200,200', intervalMs: 20, timeoutMs: 10_000 },
    )
    for (const proxy of proxies) proxy.delay(150)
    const revoked = await a.app.inject({
      method: 'POST',
      url: '/v1/revocations',
      headers: a.admin,
      payload: { kind: 'subject', value: subjectOf(namespace), reason: 'leaked' },
    })
    rounds.push([...before, revoked.statusCode, await exchange(a, namespace), await exchange(b, namespace)])
    for (const proxy of proxies) proxy.delay(0)
  }
  t.same(
    rounds,
    [0, 1, 2].map(() => [200, 200, 201, 400, 400]),
    'issued before; refused by both at the first exchange after the answer',
  )
})

t.test('running instances repair a lost hash, and pick up a change that reached only Postgres, within the staleness bound', async (t) => {
  const { shared, prefix, inspector, exchange, revoke, stored } = await setup(t)
  const a = await startTestService(t, shared)
  await a.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  const revoked = await revoke(a, 'payments')
  await inspector.del(`${prefix}{revocations}`)
  // Within the staleness bound (3 s) and a heartbeat, with room for a busy machine.
  const fields = await eventually(t, stored, { until: (hash) => hash['~seq'] !== undefined, intervalMs: 50, timeoutMs: 5000 })
  t.same(
    Object.keys(fields).filter((f) => !f.startsWith('~')),
    [revoked.id],
    'the hash is back without any instance starting',
  )

  // A revocation on record that neither Redis nor the channel carried (a lost message, a write lost in a failover).
  const db = new pg.Client({ connectionString: shared.databaseUrl })
  await db.connect()
  t.teardown(() => db.end())
  await db.query(
    "INSERT INTO revocations (id, kind, value, reason, created_at, created_by) VALUES (gen_random_uuid(), 'subject', $1, 'lost on the way', now(), 'responder')",
    [subjectOf('search')],
  )
  // Unknown to every instance until one compares its copy with the durable log.
  const status = await eventually(t, () => exchange(a, 'search'), { until: (answer) => answer === 400, intervalMs: 50, timeoutMs: 5000 })
  t.equal(status, 400, 'found behind the durable log, reloaded, and refused')
  t.equal(await exchange(a, 'payments'), 400, 'the rest still refused')
})
