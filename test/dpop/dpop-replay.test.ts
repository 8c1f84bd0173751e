import t, { type Test } from 'tap'
import { createTestCluster } from '../support/cluster.js'
import { claimsOf, exchangeWithProof, makeDpopKey, makeProof, nowOf, refusal } from '../support/dpop.js'
import { freshPostgresDatabase, uniqueRedisPrefix } from '../support/servers.js'
import { NOW, startTestService, TRUST_DOMAIN, type TestService, type TestServiceOptions } from '../support/service.js'

/**
 * A DPoP proof is good for one request on any instance, and with `dpop.nonce: required` only with a
 * nonce some instance of the deployment handed out: two services on one Postgres and one Redis.
 */

const key = await makeDpopKey('ES256')
const REPLAYED = {
  error: 'invalid_dpop_proof',
  error_description: 'this DPoP proof was already used: make a new proof, with a new jti, for each request',
  error_reason: 'dpop_proof_replayed',
}

async function twoInstances(t: Test, config: Record<string, unknown> = {}): Promise<[TestService, TestService]> {
  const shared: TestServiceOptions = {
    databaseUrl: await freshPostgresDatabase(t),
    redisKeyPrefix: uniqueRedisPrefix(),
    cluster: await createTestCluster('prod', Math.floor(NOW / 1000)),
    config,
  }
  const a = await startTestService(t, shared)
  const b = await startTestService(t, shared)
  await a.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  // B reads the grant through the change feed (or its catch-up) before it is asked.
  await b.services.grantCatalog.catchUp()
  return [a, b]
}

t.test('the same proof twice is refused the second time, on the same instance and on another', async (t) => {
  const [a, b] = await twoInstances(t)
  const proof = await makeProof(key, nowOf(a))
  const first = await exchangeWithProof(a, proof)
  t.equal(first.statusCode, 200)
  t.same(claimsOf(first.body.access_token).cnf, { jkt: key.jkt })
  refusal(t, await exchangeWithProof(a, proof), REPLAYED, 'again on A')
  refusal(t, await exchangeWithProof(b, proof), REPLAYED, 'again on B')

  const other = await makeProof(key, nowOf(b))
  t.equal((await exchangeWithProof(b, other)).statusCode, 200, 'a new proof (a new jti) of the same key is fine on B')
  refusal(t, await exchangeWithProof(a, other), REPLAYED, "and B's proof is spent for A")
})

t.test('a jti is remembered per key: the same jti from another key is another proof', async (t) => {
  const [a] = await twoInstances(t)
  const second = await makeDpopKey('ES256')
  const jti = 'fixed-jti-1'
  t.equal((await exchangeWithProof(a, await makeProof(key, nowOf(a), { claims: { jti } }))).statusCode, 200)
  t.equal((await exchangeWithProof(a, await makeProof(second, nowOf(a), { claims: { jti } }))).statusCode, 200)
  refusal(t, await exchangeWithProof(a, await makeProof(key, nowOf(a), { claims: { jti } })), REPLAYED)
})

t.test('with dpop.nonce required: no nonce is refused with use_dpop_nonce, and the nonce given works on every instance', async (t) => {
  const [a, b] = await twoInstances(t, { dpop: { nonce: 'required', nonceLifetimeSeconds: 60 } })
  const missing = await exchangeWithProof(a, await makeProof(key, nowOf(a)))
  refusal(t, missing, {
    error: 'use_dpop_nonce',
    error_description: 'this server requires a nonce in DPoP proofs: use the one in the DPoP-Nonce header',
    error_reason: 'dpop_nonce_required',
  })
  const nonce = missing.headers['dpop-nonce']
  t.type(nonce, 'string', 'the refusal carries a nonce')
  t.match(nonce, /^[\x21\x23-\x5B\x5D-\x7E]+$/, 'in the NQCHAR set of RFC 9449')

  const fromB = await exchangeWithProof(b, await makeProof(key, nowOf(b), { claims: { nonce: String(nonce) } }))
  t.equal(fromB.statusCode, 200, "A's nonce is good on B")
  t.equal(fromB.body.token_type, 'DPoP')
  t.type(fromB.headers['dpop-nonce'], 'string', 'a success carries a fresh nonce too')

  refusal(t, await exchangeWithProof(a, await makeProof(key, nowOf(a), { claims: { nonce: 'made-up' } })), {
    error: 'use_dpop_nonce',
    error_description: "the DPoP proof's nonce is not current: use the one in the DPoP-Nonce header",
    error_reason: 'dpop_nonce_required',
  })

  // Two steps later the nonce is stale (the proof itself is fresh: its iat moves with the clock).
  a.clock.advance(120_000)
  const stale = await exchangeWithProof(a, await makeProof(key, nowOf(a), { claims: { nonce: String(nonce) } }))
  t.equal(stale.body.error, 'use_dpop_nonce', 'a stale nonce is refused')
  t.not(stale.headers['dpop-nonce'], nonce, 'and a new one is handed out')
  const fresh = await exchangeWithProof(a, await makeProof(key, nowOf(a), { claims: { nonce: String(stale.headers['dpop-nonce']) } }))
  t.equal(fresh.statusCode, 200)
})

t.test('without dpop.nonce required, answers carry no nonce and proofs need none', async (t) => {
  const [a] = await twoInstances(t)
  const answer = await exchangeWithProof(a, await makeProof(key, nowOf(a)))
  t.equal(answer.statusCode, 200)
  t.notOk('dpop-nonce' in answer.headers)
})
