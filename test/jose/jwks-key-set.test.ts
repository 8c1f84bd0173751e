import { generateKeyPairSync } from 'node:crypto'
import { unlinkSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import t from 'tap'
import { createHttpJwksFetcher } from '../../src/jose/jwks-fetcher.js'
import { importJwks, RemoteKeySet, StaticKeySet } from '../../src/jose/jwks-key-set.js'
import { ConfigError } from '../../src/config.js'
import { InvalidGrantError, ServiceUnavailableError } from '../../src/errors.js'
import { assertRefused, countingFetcher, frozenClock, ISSUER, jwks, makeKey } from '../support/attestors/jwt-attestations.js'

const ec = await makeKey('ES256', 'ec-1')
const ec2 = await makeKey('ES256', 'ec-2')
const p384 = await makeKey('ES384', 'p384')
const rsa = await makeKey('RS256', 'rsa-1')
const ed = await makeKey('EdDSA', 'ed-1')
const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' })
const x25519 = generateKeyPairSync('x25519').publicKey.export({ format: 'jwk' })
const URI = 'https://k8s.example.test/openid/v1/jwks'

t.test('imports signature keys and skips, with a reason, those it cannot use', async (t) => {
  const { keys, skipped } = importJwks({
    keys: [
      ec.jwk,
      { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' },
      { ...rsa.jwk, use: 'enc', kid: 'enc' },
      { ...rsa.jwk, key_ops: ['encrypt'], kid: 'ops' },
      { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', kid: 'broken' },
      { ...rsa1024, kid: 'short' },
      { ...x25519, kid: 'ecdh' },
      'not a key',
      { ...ec.jwk, kid: 7 },
      { ...ed.jwk, key_ops: ['verify'] },
    ],
  })
  t.same(
    keys.map((k) => [k.kid, k.family, k.alg]),
    [
      ['ec-1', 'P-256', 'ES256'],
      ['ed-1', 'EdDSA', 'EdDSA'],
    ],
  )
  t.match(skipped, [
    'key 1 (kid "hmac"): symmetric keys are never accepted',
    'key 2 (kid "enc"): "use" is "enc", not "sig"',
    'key 3 (kid "ops"): "key_ops" does not allow "verify"',
    /^key 4 \(kid "broken"\): cannot be imported/,
    'key 5 (kid "short"): RSA keys shorter than 2048 bits are not accepted',
    'key 6 (kid "ecdh"): a x25519 key cannot verify any accepted algorithm',
    'key 7: not a JSON object',
    'key 8: "kid" is not a string',
  ])
  t.throws(() => importJwks([ec.jwk]), /not a JWKS: expected an object with a "keys" array/)
  t.throws(() => importJwks(null), /not a JWKS/)
})

t.test('a static key set refuses, at start-up, a JWKS with no usable key', async (t) => {
  t.throws(
    () => new StaticKeySet(ISSUER, { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }, 'attestor prod: jwks'),
    new ConfigError(['attestor prod: jwks: no usable signature key (key 0: symmetric keys are never accepted)']),
  )
  t.throws(
    () => new StaticKeySet(ISSUER, { keys: [] }, 'attestor prod: jwks'),
    new ConfigError(['attestor prod: jwks: no usable signature key (the set is empty)']),
  )
  t.throws(
    () => new StaticKeySet(ISSUER, 'nope', 'attestor prod: jwks'),
    new ConfigError(['attestor prod: jwks: not a JWKS: expected an object with a "keys" array']),
  )
  t.throws(() => StaticKeySet.fromFile(ISSUER, '/nonexistent/jwks.json'), {
    name: 'ConfigError',
    message: /\/nonexistent\/jwks.json: cannot read a JWKS \(ENOENT/,
  })
})

t.test('a JWKS file is read once, at construction', async (t) => {
  const file = join(t.testdir(), 'jwks.json')
  writeFileSync(file, JSON.stringify(jwks(ec)))
  const keySet = StaticKeySet.fromFile(ISSUER, file)
  unlinkSync(file)
  t.ok(await keySet.resolve('ES256', 'ec-1'), 'still resolves after the file is gone')
})

t.test('a key is used only for algorithms it fits', async (t) => {
  const keySet = new StaticKeySet(ISSUER, { keys: [ec.jwk, { ...p384.jwk, alg: undefined }, rsa.jwk, ed.jwk] }, 'test')
  t.equal((await keySet.resolve('ES256', 'ec-1')).asymmetricKeyType, 'ec')
  t.equal((await keySet.resolve('RS256', 'rsa-1')).asymmetricKeyType, 'rsa')
  t.equal((await keySet.resolve('EdDSA', 'ed-1')).asymmetricKeyType, 'ed25519')
  t.ok(await keySet.resolve('ES384', 'p384'), 'a key without "alg" fits the algorithms of its curve')
  await assertRefused(
    t,
    keySet.resolve('PS256', 'rsa-1'),
    'key_unknown',
    /^the key "rsa-1" of issuer "https:\/\/k8s.example.test" cannot verify PS256 tokens$/,
  )
  await assertRefused(t, keySet.resolve('ES256', 'rsa-1'), 'key_unknown', /cannot verify ES256 tokens/)
  await assertRefused(t, keySet.resolve('ES256', 'p384'), 'key_unknown', /^the key "p384" of issuer .* cannot verify ES256 tokens$/)
  await assertRefused(t, keySet.resolve('ES512', 'ec-1'), 'key_unknown', /cannot verify ES512 tokens/)
  await assertRefused(
    t,
    keySet.resolve('ES256', 'missing'),
    'key_unknown',
    /^no key with kid "missing" is trusted for issuer "https:\/\/k8s.example.test"$/,
  )
})

t.test('a token without kid uses the only key that fits, or is refused', async (t) => {
  const keySet = new StaticKeySet(ISSUER, jwks(ec, ec2, rsa), 'test')
  t.equal((await keySet.resolve('RS256', undefined)).asymmetricKeyType, 'rsa', 'one RSA key: it is the one')
  await assertRefused(
    t,
    keySet.resolve('ES256', undefined),
    'key_unknown',
    /^the token has no key id \("kid"\) and issuer "https:\/\/k8s.example.test" has 2 keys that could verify it$/,
  )
  await assertRefused(
    t,
    keySet.resolve('EdDSA', undefined),
    'key_unknown',
    /^no key trusted for issuer "https:\/\/k8s.example.test" can verify EdDSA tokens$/,
  )
})

function remote(fetcher: ReturnType<typeof countingFetcher>, clock = frozenClock(), cooldown = 30): RemoteKeySet {
  return new RemoteKeySet({ issuer: ISSUER, uri: URI, fetch: fetcher.fetch, clock, cacheSeconds: 300, refreshCooldownSeconds: cooldown })
}

t.test('a remote key set fetches lazily and caches for jwksCacheSeconds', async (t) => {
  const fetcher = countingFetcher(jwks(ec))
  const clock = frozenClock()
  const keySet = remote(fetcher, clock)
  t.same(fetcher.calls, [], 'nothing is fetched at construction')
  await keySet.resolve('ES256', 'ec-1')
  await keySet.resolve('ES256', 'ec-1')
  clock.advance(299_000)
  await keySet.resolve('ES256', 'ec-1')
  t.same(fetcher.calls, [URI], 'one fetch within the cache lifetime')
  clock.advance(1_000)
  await keySet.resolve('ES256', 'ec-1')
  t.equal(fetcher.calls.length, 2, 'fetched again once the cache expired')
})

t.test('an unknown kid causes one refetch, then at most one per cooldown', async (t) => {
  const fetcher = countingFetcher(jwks(ec))
  const clock = frozenClock()
  const keySet = remote(fetcher, clock)
  await keySet.resolve('ES256', 'ec-1')
  clock.advance(30_000)
  await assertRefused(
    t,
    keySet.resolve('ES256', 'unknown-1'),
    'key_unknown',
    /^no key with kid "unknown-1" is trusted for issuer "https:\/\/k8s.example.test"$/,
  )
  t.equal(fetcher.calls.length, 2, 'refetched once for the unknown kid')
  clock.advance(29_000)
  await assertRefused(t, keySet.resolve('ES256', 'unknown-2'), 'key_unknown', /no key with kid "unknown-2"/)
  t.equal(fetcher.calls.length, 2, 'a second unknown kid within the cooldown fetches nothing')
  fetcher.answer = async () => jwks(ec, ec2)
  clock.advance(1_000)
  t.ok(await keySet.resolve('ES256', 'ec-2'), 'a rotated-in key is found after the cooldown')
  t.equal(fetcher.calls.length, 3)
})

t.test('concurrent lookups share one in-flight fetch', async (t) => {
  const fetcher = countingFetcher(jwks(ec))
  let release = (): void => {}
  fetcher.answer = () => new Promise((resolve) => (release = () => resolve(jwks(ec, ec2))))
  const keySet = remote(fetcher, frozenClock(), 0)
  const lookups = Promise.all([keySet.resolve('ES256', 'ec-1'), keySet.resolve('ES256', 'ec-2'), keySet.resolve('ES256', 'ec-1')])
  await new Promise((resolve) => setImmediate(resolve))
  release()
  t.equal((await lookups).length, 3)
  t.equal(fetcher.calls.length, 1, 'first load: one fetch')

  fetcher.answer = () => new Promise((resolve) => (release = () => resolve(jwks(ec))))
  const unknown = Promise.allSettled(['a', 'b', 'c', 'd'].map((kid) => keySet.resolve('ES256', kid)))
  await new Promise((resolve) => setImmediate(resolve))
  release()
  t.same(
    (await unknown).map((r) => r.status),
    ['rejected', 'rejected', 'rejected', 'rejected'],
  )
  t.equal(fetcher.calls.length, 2, 'four unknown kids at once: one more fetch')
})

t.test('with no key set yet, a failing fetch is a 503 and the next lookup tries again', async (t) => {
  const fetcher = countingFetcher(jwks(ec))
  const cause = new Error('connect ECONNREFUSED')
  fetcher.answer = async () => {
    throw cause
  }
  const keySet = remote(fetcher)
  const error = await assertRefused(
    t,
    keySet.resolve('ES256', 'ec-1'),
    'jwks_unavailable',
    /^the signing keys of issuer "https:\/\/k8s.example.test" cannot be fetched right now$/,
    ServiceUnavailableError,
  )
  t.match(error, { code: 'unavailable', reason: 'jwks_unavailable', cause })
  fetcher.answer = async () => '<html>oops</html>'
  await assertRefused(t, keySet.resolve('ES256', 'ec-1'), 'jwks_unavailable', /cannot be fetched/, ServiceUnavailableError)
  fetcher.answer = async () => ({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] })
  const noKeys = await assertRefused(t, keySet.resolve('ES256', 'ec-1'), 'jwks_unavailable', /cannot be fetched/, ServiceUnavailableError)
  t.match(noKeys.cause, { message: 'no usable signature key (key 0: symmetric keys are never accepted)' })
  fetcher.answer = async () => jwks(ec)
  t.ok(await keySet.resolve('ES256', 'ec-1'), 'recovers once the endpoint answers')
  t.equal(fetcher.calls.length, 4)
})

t.test('with a cached key set, a failing fetch keeps the cached keys in use', async (t) => {
  const fetcher = countingFetcher(jwks(ec))
  const clock = frozenClock()
  const keySet = remote(fetcher, clock)
  await keySet.resolve('ES256', 'ec-1')
  fetcher.answer = async () => {
    throw new Error('HTTP 502')
  }
  clock.advance(301_000)
  t.ok(await keySet.resolve('ES256', 'ec-1'), 'the stale set still answers')
  t.ok(await keySet.resolve('ES256', 'ec-1'))
  t.equal(fetcher.calls.length, 2, 'the failed refresh is not retried within the cooldown')
  await assertRefused(t, keySet.resolve('ES256', 'other'), 'key_unknown', /no key with kid "other"/, InvalidGrantError)
  clock.advance(30_000)
  t.ok(await keySet.resolve('ES256', 'ec-1'))
  t.equal(fetcher.calls.length, 3, 'retried after the cooldown')
})

t.test('the HTTP fetcher', async (t) => {
  const body = JSON.stringify(jwks(ec))
  const server: Server = createServer((req, res) => {
    const send = (status: number, type: string | undefined, text: string): void => {
      res.writeHead(status, type ? { 'content-type': type } : {})
      res.end(text)
    }
    if (req.url === '/ok') return send(200, 'application/json; charset=utf-8', body)
    if (req.url === '/jwk-set') return send(200, 'application/jwk-set+json', body)
    if (req.url === '/500') return send(500, 'application/json', '{}')
    if (req.url === '/html') return send(200, 'text/html', '<html></html>')
    if (req.url === '/untyped') return send(200, undefined, body)
    if (req.url === '/garbage') return send(200, 'application/json', '{"keys": [')
    if (req.url === '/declared-big') {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(1024 * 1024 + 1) })
      return res.end()
    }
    if (req.url === '/streamed-big') {
      res.writeHead(200, { 'content-type': 'application/json' })
      for (let i = 0; i < 17; i++) res.write(Buffer.alloc(64 * 1024, 0x20))
      return res.end('{}')
    }
    // /slow: never answers
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  const { port } = server.address() as { port: number }
  const url = (path: string): string => `http://127.0.0.1:${port}${path}`
  const fetchJwks = createHttpJwksFetcher(300)

  t.same(await fetchJwks(url('/ok')), jwks(ec))
  t.same(await fetchJwks(url('/jwk-set')), jwks(ec))
  await t.rejects(fetchJwks(url('/500')), { message: `GET ${url('/500')} answered HTTP 500` })
  await t.rejects(fetchJwks(url('/html')), { message: `GET ${url('/html')} answered content type text/html, not JSON` })
  await t.rejects(fetchJwks(url('/untyped')), { message: /answered no content type, not JSON/ })
  await t.rejects(fetchJwks(url('/garbage')), SyntaxError)
  await t.rejects(fetchJwks(url('/declared-big')), { message: /answered more than 1048576 bytes/ })
  await t.rejects(fetchJwks(url('/streamed-big')), { message: /answered more than 1048576 bytes/ })
  const started = Date.now()
  await t.rejects(fetchJwks(url('/slow')), { name: 'TimeoutError' })
  t.ok(Date.now() - started < 2000, 'gave up after the timeout')
})
