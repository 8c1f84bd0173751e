import { writeFileSync } from 'node:fs'
import t, { type Test } from 'tap'
import { loadConfig, type ConfigError } from '../../src/config.js'
import { eventually } from '../support/eventually.js'
import { attestorOf, fileConfig, grantEveryCluster, startFromFile, twoClusters } from '../support/reload.js'
import { freshPostgresDatabase, REDIS_URL, uniqueRedisPrefix } from '../support/servers.js'
import { ADMIN_TOKEN } from '../support/service.js'

/**
 * One instance started from a configuration file, reloaded after the file changed (what SIGHUP does:
 * src/server.ts), on the real Postgres and Redis. test/server-reload.test.ts sends the signal itself.
 */

const NOTHING = { added: [], removed: [], changed: [] }

async function stores(t: Test) {
  return { database: { url: await freshPostgresDatabase(t), poolSize: 5 }, redis: { url: REDIS_URL, keyPrefix: uniqueRedisPrefix() } }
}

t.test('a reload puts a new attestor in force and takes a removed one out of it', async (t) => {
  const { prod, staging } = await twoClusters()
  const base = await stores(t)
  const sts = await startFromFile(t, fileConfig(base, [attestorOf(prod)]))
  await grantEveryCluster(sts)
  t.equal(await sts.exchange(await prod.serviceAccountToken()), 'issued')
  t.equal(await sts.exchange(await staging.serviceAccountToken()), 'issuer_unknown', 'staging is not trusted yet')

  sts.write(fileConfig(base, [attestorOf(staging)]))
  t.same(sts.services.reloads.reloadHere('SIGHUP'), {
    outcome: 'applied',
    changed: ['attestors.prod', 'attestors.staging'],
    attestors: { added: ['staging'], removed: ['prod'], changed: [] },
    problems: [],
  })
  t.equal(await sts.exchange(await staging.serviceAccountToken()), 'issued', 'the new cluster is trusted at once')
  t.equal(await sts.exchange(await prod.serviceAccountToken()), 'issuer_unknown', 'the removed one is not')
  t.match(sts.logs.at(-3), {
    level: 30,
    msg: 'configuration reloaded',
    trigger: 'SIGHUP',
    reload: 'applied',
    changed: ['attestors.prod', 'attestors.staging'],
  })

  // A source revocation must match a configured attestor: the forms follow the reload too.
  const revoke = (value: string) =>
    sts.app.inject({
      method: 'POST',
      url: '/v1/revocations',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      payload: { kind: 'source', value, reason: 'test' },
    })
  t.equal((await revoke('k8s:staging')).statusCode, 201)
  t.equal((await revoke('k8s:prod')).statusCode, 400)

  t.same(sts.services.reloads.reloadHere('SIGHUP'), { outcome: 'unchanged', changed: [], attestors: NOTHING, problems: [] })
  t.match(sts.logs.at(-1), { level: 30, msg: 'configuration reloaded: nothing changed', reload: 'unchanged' })
})

t.test('a configuration that does not validate is refused with the messages of a start, and the running one is kept', async (t) => {
  const { prod, staging } = await twoClusters()
  const base = await stores(t)
  const sts = await startFromFile(t, fileConfig(base, [attestorOf(prod)]))
  await grantEveryCluster(sts)

  sts.write(fileConfig(base, [attestorOf(prod), { ...attestorOf(staging), name: 'Staging!' }], { limits: { tokenRequestsPerMinute: -1 } }))
  const atStart = (t.throws(() => loadConfig(sts.source)) as ConfigError).problems
  t.same(atStart, [
    'limits.tokenRequestsPerMinute: Too small: expected number to be >=0',
    'attestors.1.name: must be a DNS label (lowercase letters, digits, "-")',
  ])
  t.same(sts.services.reloads.reloadHere('SIGHUP'), { outcome: 'refused', changed: [], attestors: NOTHING, problems: atStart })
  t.match(sts.logs.at(-1), {
    level: 50,
    msg: 'configuration reload refused: the running configuration is kept',
    reload: 'refused',
    problems: atStart,
  })
  t.equal(await sts.exchange(await prod.serviceAccountToken()), 'issued', 'the running configuration still serves')
  t.equal(await sts.exchange(await staging.serviceAccountToken()), 'issuer_unknown')

  writeFileSync(sts.source.file!, '{ "issuer": ')
  const outcome = sts.services.reloads.reloadHere('SIGHUP')
  t.equal(outcome.outcome, 'refused')
  t.match(outcome.problems, [new RegExp(`^configuration file ${sts.source.file} is not valid JSON at line 1, column `)])
  t.equal(await sts.exchange(await prod.serviceAccountToken()), 'issued')

  // What only building the attestors finds (a trust file that cannot be read) is refused the same way.
  sts.write(
    fileConfig(base, [
      attestorOf(prod),
      { kind: 'kubernetes', name: 'staging', issuer: staging.issuer, jwksFile: '/nonexistent/jwks.json' },
    ]),
  )
  const unreadable = sts.services.reloads.reloadHere('SIGHUP')
  t.match(unreadable, { outcome: 'refused', changed: ['attestors.staging'], problems: [/jwksFile \/nonexistent\/jwks\.json/] })
  t.match(sts.logs.at(-1), { level: 50, reload: 'refused' })
  t.equal(await sts.exchange(await prod.serviceAccountToken()), 'issued')
})

t.test('a change to what cannot change at run time is refused by name, and nothing of the file is applied', async (t) => {
  const { prod, staging } = await twoClusters()
  const base = await stores(t)
  const sts = await startFromFile(t, fileConfig(base, [attestorOf(prod)]))
  await grantEveryCluster(sts)
  const otherDatabase = 'postgres://sts:s3cret-password@db.example:5432/sts'
  const otherToken = 'another-admin-token-0123456789-secret'
  sts.write({
    ...fileConfig(base, [attestorOf(prod), attestorOf(staging)]),
    issuer: 'https://other.test.example',
    database: { ...base.database, url: otherDatabase },
    admin: { token: otherToken },
    tokens: { maxTtlSeconds: 7200 },
  })
  t.same(sts.services.reloads.reloadHere('SIGHUP'), {
    outcome: 'refused',
    changed: ['issuer', 'database.url', 'admin.token', 'tokens.maxTtlSeconds', 'attestors.staging'],
    attestors: { added: ['staging'], removed: [], changed: [] },
    problems: [
      'issuer cannot change at run time: restart the service to apply it',
      'database.url cannot change at run time: restart the service to apply it',
      'admin.token cannot change at run time: restart the service to apply it',
      'tokens.maxTtlSeconds cannot change at run time: restart the service to apply it',
    ],
  })
  t.match(sts.logs.at(-1), { level: 40, msg: 'configuration reload refused: the running configuration is kept' })
  t.equal(await sts.exchange(await staging.serviceAccountToken()), 'issuer_unknown', 'the attestor that came with them is not added')
  const logged = JSON.stringify(sts.logs)
  t.notOk(logged.includes('s3cret-password'), 'values are never logged, only key names')
  t.notOk(logged.includes(otherToken))
})

t.test('limits, the default token lifetime and the log level change in place', async (t) => {
  const { prod } = await twoClusters()
  const base = await stores(t)
  const config = fileConfig(base, [attestorOf(prod)], { limits: { tokenRequestsPerMinute: 0 } })
  const sts = await startFromFile(t, config)
  await grantEveryCluster(sts)
  const token = await prod.serviceAccountToken()
  for (let i = 0; i < 3; i++) t.match(await sts.exchangeAnswer(token), { statusCode: 200, body: { expires_in: 300 } })

  sts.write({
    ...config,
    logLevel: 'warn',
    tokens: { defaultTtlSeconds: 120 },
    limits: { tokenRequestsPerMinute: 1, adminRequestsPerMinute: 3 },
  })
  t.same(sts.services.reloads.reloadHere('SIGHUP'), {
    outcome: 'applied',
    changed: ['logLevel', 'tokens.defaultTtlSeconds', 'limits.tokenRequestsPerMinute', 'limits.adminRequestsPerMinute'],
    attestors: NOTHING,
    problems: [],
  })
  t.match(await sts.exchangeAnswer(token), { statusCode: 200, body: { expires_in: 120 } }, 'the new default lifetime')
  t.match(await sts.exchangeAnswer(token), { statusCode: 429, body: { error_reason: 'rate_limited' } }, 'the token limit, from off to 1')
  t.equal(sts.services.logger.level, 'warn')
  // One admin request (the grant) is counted already this minute: two more, then refused.
  const list = () => sts.app.inject({ method: 'GET', url: '/v1/grants', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  t.same([(await list()).statusCode, (await list()).statusCode, (await list()).statusCode], [200, 200, 429])

  // The introspection and failed-authentication budgets, from their defaults down to 1.
  sts.write({ ...config, limits: { introspectionRequestsPerMinute: 1, adminAuthFailuresPerMinute: 1 } })
  t.same(sts.services.reloads.reloadHere('SIGHUP').changed, [
    'logLevel',
    'tokens.defaultTtlSeconds',
    'limits.tokenRequestsPerMinute',
    'limits.adminRequestsPerMinute',
    'limits.introspectionRequestsPerMinute',
    'limits.adminAuthFailuresPerMinute',
  ])
  const introspect = (authorization: string) =>
    sts.app.inject({
      method: 'POST',
      url: '/oauth2/introspect',
      headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
      payload: 'token=not-a-token',
    })
  t.same([(await introspect(`Bearer ${ADMIN_TOKEN}`)).statusCode, (await introspect(`Bearer ${ADMIN_TOKEN}`)).statusCode], [200, 429])
  t.same([(await list()).statusCode], [200], 'the admin budget is back to its default')
  const wrong = () => sts.app.inject({ method: 'GET', url: '/v1/grants', headers: { authorization: 'Bearer wrong-token' } })
  t.same([(await wrong()).statusCode, (await wrong()).statusCode], [401, 429])
})

t.test('an exchange under way when the configuration is reloaded finishes with the settings it began with', async (t) => {
  const { prod } = await twoClusters()
  const base = await stores(t)
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => (release = resolve))
  let fetches = 0
  const fetchJwks = async () => {
    fetches++
    await gate
    return prod.jwks
  }
  const gated = { kind: 'kubernetes', name: 'prod', issuer: prod.issuer, jwksUri: 'https://prod.kubernetes.test.example/openid/v1/jwks' }
  const sts = await startFromFile(t, fileConfig(base, [gated]), { fetchJwks })
  await grantEveryCluster(sts)

  const underWay = sts.exchangeAnswer(await prod.serviceAccountToken())
  await eventually(t, () => fetches, { what: 'the exchange fetches the JWKS' })
  sts.write(fileConfig(base, [], { tokens: { defaultTtlSeconds: 60 } }))
  t.equal(sts.services.reloads.reloadHere('SIGHUP').outcome, 'applied')
  release()
  t.match(await underWay, { statusCode: 200, body: { expires_in: 300 } }, 'its attestor and its lifetime are those it began with')
  t.equal(await sts.exchange(await prod.serviceAccountToken()), 'issuer_unknown', 'the next exchange has the new settings')
  const metadata = await sts.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })
  t.same(
    metadata.json<Record<string, unknown>>().subject_token_types_supported,
    ['urn:ietf:params:oauth:token-type:access_token'],
    'discovery follows the attestors: none left, only our own access tokens',
  )
})

t.test('a reload that changes no attestor keeps them, and the keys they fetched', async (t) => {
  const { prod } = await twoClusters()
  const base = await stores(t)
  let fetches = 0
  const fetchJwks = async () => {
    fetches++
    return prod.jwks
  }
  const remote = { kind: 'kubernetes', name: 'prod', issuer: prod.issuer, jwksUri: 'https://prod.kubernetes.test.example/openid/v1/jwks' }
  const config = fileConfig(base, [remote])
  const sts = await startFromFile(t, config, { fetchJwks })
  await grantEveryCluster(sts)
  t.equal(await sts.exchange(await prod.serviceAccountToken()), 'issued')
  t.equal(fetches, 1)
  sts.write({ ...config, limits: { tokenRequestsPerMinute: 100 } })
  t.equal(sts.services.reloads.reloadHere('SIGHUP').outcome, 'applied')
  t.equal(await sts.exchange(await prod.serviceAccountToken()), 'issued')
  t.equal(fetches, 1, 'no new fetch: the same attestor, with its cached keys')
  sts.write({ ...config, attestors: [{ ...remote, jwksCacheSeconds: 60 }] })
  t.equal(sts.services.reloads.reloadHere('SIGHUP').outcome, 'applied')
  t.equal(await sts.exchange(await prod.serviceAccountToken()), 'issued')
  t.equal(fetches, 2, 'a changed attestor is built anew')
})
