import { Redis } from 'ioredis'
import pg from 'pg'
import t, { type Test } from 'tap'
import { eventually } from '../support/eventually.js'
import { conforms } from '../support/openapi-check.js'
import { startOwnRedis } from '../support/redis-server.js'
import { attestorOf, fileConfig, grantEveryCluster, startFromFile, twoClusters } from '../support/reload.js'
import { freshPostgresDatabase, REDIS_URL, uniqueRedisPrefix } from '../support/servers.js'
import { ADMIN_TOKEN } from '../support/service.js'

/**
 * POST /v1/admin/reload: this instance reloads, every other is asked through the reload feed (Redis).
 * Two instances on one Postgres and one Redis, each with its own configuration file, as two pods
 * each mount the same ConfigMap.
 */

const bootstrap = { authorization: `Bearer ${ADMIN_TOKEN}` }

async function sharedStores(t: Test, redisUrl = REDIS_URL) {
  return { database: { url: await freshPostgresDatabase(t), poolSize: 5 }, redis: { url: redisUrl, keyPrefix: uniqueRedisPrefix() } }
}

t.test('a reload asked of one instance reloads every instance', async (t) => {
  const { prod, staging } = await twoClusters()
  const stores = await sharedStores(t)
  const a = await startFromFile(t, fileConfig(stores, [attestorOf(prod)]))
  const b = await startFromFile(t, fileConfig(stores, [attestorOf(prod)]))
  await grantEveryCluster(a)
  const stagingToken = await staging.serviceAccountToken()
  await eventually(t, () => b.exchange(stagingToken), { until: (o) => o === 'issuer_unknown', what: 'B has the grant' })

  a.write(fileConfig(stores, [attestorOf(prod), attestorOf(staging)]))
  b.write(fileConfig(stores, [attestorOf(prod), attestorOf(staging)]))
  t.equal(await b.exchange(stagingToken), 'issuer_unknown', 'a changed file alone changes nothing')
  const response = await a.app.inject({ method: 'POST', url: '/v1/admin/reload', headers: bootstrap })
  t.equal(response.statusCode, 200)
  conforms(t, response, '/v1/admin/reload', 'post')
  t.same(response.json(), {
    outcome: 'applied',
    changed: ['attestors.staging'],
    attestors: { added: ['staging'], removed: [], changed: [] },
    problems: [],
    otherInstances: 'asked',
  })
  t.equal(await a.exchange(stagingToken), 'issued', 'A reloaded before it answered')
  t.equal(await eventually(t, () => b.exchange(stagingToken), { until: (o) => o === 'issued', what: 'B trusts staging' }), 'issued')
  t.match(
    b.logs.find((line) => line.msg === 'configuration reloaded'),
    { trigger: 'another instance', changed: ['attestors.staging'] },
  )
  t.notOk(
    a.logs.some((line) => line.trigger === 'another instance'),
    'A does not reload again on its own request',
  )

  const audit = await a.app.inject({ method: 'GET', url: '/v1/audit?targetType=config', headers: bootstrap })
  t.match(audit.json(), {
    entries: [
      {
        actor: 'bootstrap',
        action: 'config.reload',
        targetType: 'config',
        targetId: a.source.file,
        before: null,
        after: {
          outcome: 'applied',
          changed: ['attestors.staging'],
          attestors: { added: ['staging'], removed: [], changed: [] },
          problems: [],
        },
        requestId: response.headers['x-request-id'] ?? String,
      },
    ],
  })
  t.equal(audit.json<{ entries: unknown[] }>().entries.length, 1)
})

t.test('a refused reload is answered, recorded, and the others are asked all the same', async (t) => {
  const { prod } = await twoClusters()
  const stores = await sharedStores(t)
  const a = await startFromFile(t, fileConfig(stores, [attestorOf(prod)]))
  a.write({ ...fileConfig(stores, [attestorOf(prod)]), trustDomain: 'other.example' })
  const response = await a.app.inject({ method: 'POST', url: '/v1/admin/reload', headers: bootstrap })
  t.equal(response.statusCode, 200)
  conforms(t, response, '/v1/admin/reload', 'post')
  t.same(response.json(), {
    outcome: 'refused',
    changed: ['trustDomain'],
    attestors: { added: [], removed: [], changed: [] },
    problems: ['trustDomain cannot change at run time: restart the service to apply it'],
    otherInstances: 'asked',
  })
  const audit = await a.app.inject({ method: 'GET', url: '/v1/audit?targetType=config', headers: bootstrap })
  t.match(audit.json(), { entries: [{ action: 'config.reload', after: { outcome: 'refused', changed: ['trustDomain'] } }] })
})

t.test('reloading takes the role config:reload', async (t) => {
  const { prod } = await twoClusters()
  const a = await startFromFile(t, fileConfig(await sharedStores(t), [attestorOf(prod)]))
  const tokenWith = async (name: string, roles: string[]) => {
    const made = await a.app.inject({ method: 'POST', url: '/v1/admin-tokens', headers: bootstrap, payload: { name, roles } })
    return { authorization: `Bearer ${made.json<{ token: string }>().token}` }
  }
  const refused = await a.app.inject({
    method: 'POST',
    url: '/v1/admin/reload',
    headers: await tokenWith('grants-reader', ['grants:read']),
  })
  t.equal(refused.statusCode, 403)
  conforms(t, refused, '/v1/admin/reload', 'post')
  t.same(refused.json(), {
    type: 'about:blank',
    title: 'Forbidden',
    status: 403,
    detail: 'the admin token grants-reader does not have the role config:reload',
    instance: '/v1/admin/reload',
    reason: 'role_missing',
  })
  const allowed = await a.app.inject({ method: 'POST', url: '/v1/admin/reload', headers: await tokenWith('reloader', ['config:reload']) })
  t.equal(allowed.statusCode, 200)
  t.match(allowed.json(), { outcome: 'unchanged', otherInstances: 'asked' })
  t.equal((await a.app.inject({ method: 'POST', url: '/v1/admin/reload' })).statusCode, 401)
})

t.test('without Redis there is no other instance to ask', async (t) => {
  const { prod, staging } = await twoClusters()
  const stores = { database: { url: await freshPostgresDatabase(t), poolSize: 5 } }
  const a = await startFromFile(t, fileConfig(stores, [attestorOf(prod)]))
  await grantEveryCluster(a)
  a.write(fileConfig(stores, [attestorOf(staging)]))
  const response = await a.app.inject({ method: 'POST', url: '/v1/admin/reload', headers: bootstrap })
  t.same(response.json(), {
    outcome: 'applied',
    changed: ['attestors.prod', 'attestors.staging'],
    attestors: { added: ['staging'], removed: ['prod'], changed: [] },
    problems: [],
    otherInstances: 'none',
  })
  t.equal(await a.exchange(await staging.serviceAccountToken()), 'issued')
})

t.test('a reload asked while an instance was cut off from the feed is made when it is back', async (t) => {
  const { prod, staging } = await twoClusters()
  const redis = await startOwnRedis(t)
  const stores = await sharedStores(t, redis.url)
  const b = await startFromFile(t, fileConfig(stores, [attestorOf(prod)]))
  await grantEveryCluster(b)
  b.write(fileConfig(stores, [attestorOf(prod), attestorOf(staging)]))
  // Another instance's request whose message B never got: the counter moved, nothing was delivered.
  const other = new Redis(redis.url)
  t.teardown(() => other.disconnect())
  await other.incr(`${stores.redis.keyPrefix}config:reload-count`)
  t.equal(await b.exchange(await staging.serviceAccountToken()), 'issuer_unknown')
  // B's subscriptions are cut (as by a network fault); it subscribes again, and finds it missed one.
  await other.client('KILL', 'TYPE', 'pubsub')
  t.equal(
    await eventually(t, async () => b.exchange(await staging.serviceAccountToken()), { until: (o) => o === 'issued', what: 'B reloads' }),
    'issued',
  )
  t.match(
    b.logs.find((line) => line.msg === 'configuration reloaded'),
    { trigger: 'another instance' },
  )
})

t.test('a reload the audit log cannot record is not made', async (t) => {
  const { prod, staging } = await twoClusters()
  const stores = await sharedStores(t)
  const a = await startFromFile(t, fileConfig(stores, [attestorOf(prod)]))
  await grantEveryCluster(a)
  a.write(fileConfig(stores, [attestorOf(prod), attestorOf(staging)]))
  const db = new pg.Client({ connectionString: stores.database.url })
  await db.connect()
  t.teardown(() => db.end())
  await db.query('ALTER TABLE audit_log RENAME TO audit_log_away')
  const response = await a.app.inject({ method: 'POST', url: '/v1/admin/reload', headers: bootstrap })
  t.equal(response.statusCode, 503)
  t.match(response.json(), { status: 503, detail: 'the audit log cannot be written: nothing was reloaded', reason: 'audit_unavailable' })
  t.equal(await a.exchange(await staging.serviceAccountToken()), 'issuer_unknown', 'nothing was reloaded')
  await db.query('ALTER TABLE audit_log_away RENAME TO audit_log')
  const again = await a.app.inject({ method: 'POST', url: '/v1/admin/reload', headers: bootstrap })
  t.match(again.json(), { outcome: 'applied', changed: ['attestors.staging'] })
  t.equal(await a.exchange(await staging.serviceAccountToken()), 'issued')
})
