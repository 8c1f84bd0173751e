import t from 'tap'
import type { FixedClock } from '../../src/lib/clock.js'
import { attestorOf, fileConfig, startFromFile, twoClusters } from '../support/reload.js'
import { freshPostgresDatabase } from '../support/servers.js'
import { ADMIN_TOKEN, NOW } from '../support/service.js'

/**
 * clockSkewSeconds may change at run time (src/reload/config-changes.ts), and the signing keys' timings
 * count it: a `next` key waits the JWKS cache lifetime (300 s), the keys' staleness bound (30 s) and
 * the clock skew before it signs. After a reload, the new skew is the one waited.
 */

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }
const at = (seconds: number) => new Date(NOW + seconds * 1000).toISOString()

t.test('a reload that changes clockSkewSeconds changes when a next key may sign', async (t) => {
  const { prod } = await twoClusters()
  const base = { database: { url: await freshPostgresDatabase(t), poolSize: 5 } }
  const config = fileConfig(base, [attestorOf(prod)], { clockSkewSeconds: 60 })
  const sts = await startFromFile(t, config)
  const clock = sts.services.clock as FixedClock

  const rotated = await sts.app.inject({ method: 'POST', url: '/v1/keys/rotate', headers: admin })
  t.equal(rotated.statusCode, 201)
  const next = rotated.json<{ key: { kid: string; activatesAt: string } }>().key
  t.equal(next.activatesAt, at(300 + 30 + 60), 'the skew of the start')

  sts.write({ ...config, clockSkewSeconds: 120 })
  t.match(sts.services.reloads.reloadHere('SIGHUP'), { outcome: 'applied', changed: ['clockSkewSeconds'] })
  const listed = await sts.app.inject({ method: 'GET', url: '/v1/keys', headers: admin })
  const waiting = listed.json<{ keys: { kid: string; state: string; activatesAt: string | null }[] }>().keys.find((k) => k.kid === next.kid)
  t.same(
    waiting && { state: waiting.state, activatesAt: waiting.activatesAt },
    { state: 'next', activatesAt: at(300 + 30 + 120) },
    'the new skew',
  )

  clock.set(NOW + (300 + 30 + 60 + 1) * 1000)
  t.same(await sts.services.keyService.maintain(), [], 'past the old wait, not yet the new: it does not sign')
  clock.set(NOW + (300 + 30 + 120) * 1000)
  t.match(await sts.services.keyService.maintain(), [{ action: 'activate', kid: next.kid }], 'once the new wait is over, it signs')
})
