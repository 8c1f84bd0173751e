import t from 'tap'
import type { FixedClock } from '../../src/lib/clock.js'
import { fileConfig, grantEveryCluster, startFromFile, twoClusters } from '../support/reload.js'
import { parseScrape, samplesOf } from '../support/scrape.js'
import { freshPostgresDatabase, REDIS_URL, uniqueRedisPrefix } from '../support/servers.js'

/** What the metrics say of the attestors after a reload, on the real Postgres and Redis. */

t.test('an attestor removed by a reload leaves sts_jwks_key_set_age_seconds; the others stay', async (t) => {
  const { prod, staging } = await twoClusters()
  const base = { database: { url: await freshPostgresDatabase(t), poolSize: 5 }, redis: { url: REDIS_URL, keyPrefix: uniqueRedisPrefix() } }
  const remote = (cluster: typeof prod) => ({
    kind: 'kubernetes',
    name: cluster.name,
    issuer: cluster.issuer,
    jwksUri: `${cluster.issuer}/openid/v1/jwks`,
  })
  const fetchJwks = async (url: string) => (url.startsWith(prod.issuer) ? prod.jwks : staging.jwks)
  const config = fileConfig(base, [remote(prod), remote(staging)])
  const sts = await startFromFile(t, config, { fetchJwks })
  await grantEveryCluster(sts)
  const ages = async () => {
    const scrape = await sts.app.inject({ method: 'GET', url: '/metrics' })
    return samplesOf(parseScrape(scrape.body), 'sts_jwks_key_set_age_seconds')
  }

  t.equal(await sts.exchange(await prod.serviceAccountToken()), 'issued')
  ;(sts.services.clock as FixedClock).advance(30_000)
  t.equal(await sts.exchange(await staging.serviceAccountToken()), 'issued')
  ;(sts.services.clock as FixedClock).advance(12_000)
  t.same(await ages(), [
    { labels: { attestor: 'prod' }, value: 42 },
    { labels: { attestor: 'staging' }, value: 12 },
  ])

  sts.write(fileConfig(base, [remote(prod)]))
  t.match(sts.services.reloads.reloadHere('SIGHUP'), { outcome: 'applied', attestors: { removed: ['staging'] } })
  ;(sts.services.clock as FixedClock).advance(8_000)
  t.same(await ages(), [{ labels: { attestor: 'prod' }, value: 50 }], 'staging is gone, not aging on')
})
