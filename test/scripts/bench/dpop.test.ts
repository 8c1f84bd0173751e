import { createHash } from 'node:crypto'
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify, type JWK } from 'jose'
import t from 'tap'
import { dpopTarget, poolSizeFor, signProofPool } from '../../../scripts/bench/dpop.js'

/** The bench's DPoP proofs: valid RFC 9449 proofs for the token endpoint, each used once, each key's thumbprint right. */

const HTU = 'https://sts.bench.example/oauth2/token'

t.test('each pooled proof verifies with its own key, names the endpoint, and has its own jti', async (t) => {
  const pool = signProofPool(HTU, 6, 3)
  t.equal(pool.size, 6)
  t.equal(pool.thumbprints.length, 3)
  const jtis = new Set<unknown>()
  for (let n = 0; n < 6; n++) {
    const proof = pool.headersFor(n).dpop
    const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] })
    t.same(Object.keys(payload).sort(), ['htm', 'htu', 'iat', 'jti'])
    t.equal(payload.htm, 'POST')
    t.equal(payload.htu, HTU)
    t.ok(Math.abs(Number(payload.iat) - Date.now() / 1000) < 5, 'iat is now')
    t.equal(await calculateJwkThumbprint(protectedHeader.jwk as JWK, 'sha256'), pool.thumbprints[n % 3], 'the thumbprint of its key')
    t.notOk('d' in (protectedHeader.jwk as JWK), 'no private part in the header')
    jtis.add(payload.jti)
  }
  t.equal(jtis.size, 6, 'a jti per proof')
  t.equal(pool.signedInLoop(), 0)
})

t.test('past the pool, proofs are signed in the loop, and counted', async (t) => {
  const pool = signProofPool(HTU, 1, 1)
  const first = pool.headersFor(0).dpop
  const extra = pool.headersFor(1).dpop
  t.not(extra, first)
  await jwtVerify(extra, EmbeddedJWK, { typ: 'dpop+jwt' })
  t.equal(pool.signedInLoop(), 1)
  // A thumbprint is over the public key's required members only (RFC 7638): what jose computes.
  t.equal(pool.thumbprints[0].length, createHash('sha256').digest('base64url').length)
})

t.test('the DPoP target is the bearer one with a proof per request; the pool is sized above the bearer rate', async (t) => {
  const pool = signProofPool(HTU, 2, 1)
  const bearer = { host: '127.0.0.1', port: 1, path: '/oauth2/token', bodies: [Buffer.from('a')], contentType: 'x' }
  const target = dpopTarget(bearer, pool)
  t.equal(target.path, bearer.path)
  t.type(target.headersFor?.(0).dpop, 'string')
  t.equal(poolSizeFor(1000, 10, 64), 12_500 + 256)
})
