import t from 'tap'
import { ServiceUnavailableError } from '../../src/errors.js'
import { DiscoveredKeySet } from '../../src/jose/discovered-key-set.js'
import { frozenClock, jwks, makeKey } from '../support/attestors/jwt-attestations.js'

const ISSUER = 'https://login.example.test'
const unavailable = new ServiceUnavailableError(`the discovery document of issuer "${ISSUER}" cannot be read right now`, 'jwks_unavailable')
const DISCOVERY = `${ISSUER}/.well-known/openid-configuration`
const JWKS_URI = `${ISSUER}/keys`

t.test('the JWKS address is read once from the discovery document; a failure is retried only after the cooldown', async (t) => {
  const key = await makeKey('ES256', 'k1')
  const clock = frozenClock()
  const fetched: string[] = []
  let discoveryUp = false
  const keys = new DiscoveredKeySet({
    issuer: ISSUER,
    clock,
    cacheSeconds: 300,
    refreshCooldownSeconds: 30,
    fetch: async (url) => {
      fetched.push(url)
      if (url === DISCOVERY) {
        if (!discoveryUp) throw new Error('GET answered HTTP 502')
        return { issuer: ISSUER, jwks_uri: JWKS_URI }
      }
      return jwks(key)
    },
  })
  await t.rejects(keys.resolve('ES256', 'k1'), unavailable)
  discoveryUp = true
  clock.advance(29_000)
  await t.rejects(keys.resolve('ES256', 'k1'), unavailable, 'within the cooldown, not asked again')
  t.same(fetched, [DISCOVERY])
  clock.advance(1_000)
  t.ok(await keys.resolve('ES256', 'k1'))
  t.ok(await keys.resolve('ES256', 'k1'))
  t.same(fetched, [DISCOVERY, DISCOVERY, JWKS_URI], 'then kept, and the keys cached')
})

t.test('a document without an http(s) jwks_uri is refused', async (t) => {
  for (const document of [{ issuer: ISSUER }, { issuer: ISSUER, jwks_uri: 'file:///etc/keys' }, null]) {
    const keys = new DiscoveredKeySet({
      issuer: ISSUER,
      clock: frozenClock(),
      cacheSeconds: 300,
      refreshCooldownSeconds: 0,
      fetch: async () => document,
    })
    await t.rejects(keys.resolve('ES256', 'k1'), unavailable, JSON.stringify(document))
  }
})
