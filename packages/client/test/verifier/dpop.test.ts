import { createHash } from 'node:crypto'
import Fastify from 'fastify'
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose'
import t, { type Test } from 'tap'
import { makeDpopKey, makeProof, type DpopKey } from '../../../../test/support/dpop.js'
import { accessTokenPlugin } from '../../src/adapters/fastify.js'
import { TokenRefusedError, type ResourceRequest } from '../../src/index.js'
import { dpopSetup, SUBJECT, type DpopSetup } from '../support/dpop-service.js'

// The resource server's side of DPoP (RFC 9449 section 7): a bound token minted by the real service
// for the token source's key, presented with proofs that are right or wrong in exactly one way.

const URL_CALLED = 'https://ledger.example/entries?page=2'
const HTU = 'https://ledger.example/entries'

interface Bound {
  setup: DpopSetup
  key: DpopKey
  token: string
  now: number
  request(headers: Record<string, string | undefined>, method?: string): ResourceRequest
}

async function bound(t: Test): Promise<Bound> {
  const setup = await dpopSetup(t)
  const pair = await generateKeyPair('ES256', { extractable: true })
  const publicJwk = await exportJWK(pair.publicKey)
  const key: DpopKey = {
    alg: 'ES256',
    privateKey: pair.privateKey,
    publicJwk,
    privateJwk: await exportJWK(pair.privateKey),
    jkt: await calculateJwkThumbprint(publicJwk, 'sha256'),
  }
  const token = await setup.source({ dpop: { key: pair } }).token({ audience: 'ledger-api', scope: 'ledger:read' })
  return {
    setup,
    key,
    token,
    now: Math.floor(setup.sts.clock.now() / 1000),
    request: (headers, method = 'GET') => ({ method, url: URL_CALLED, headers: { authorization: `DPoP ${token}`, ...headers } }),
  }
}

const ath = (token: string) => createHash('sha256').update(token).digest('base64url')

/** A proof of `key` for GET URL_CALLED with the token's ath, as of `now`, with `claims` over it. */
function proof(b: Bound, claims: Record<string, unknown> = {}, key = b.key): Promise<string> {
  return makeProof(key, b.now, { claims: { htm: 'GET', htu: HTU, ath: ath(b.token), ...claims } })
}

async function refused(t: Test, verification: Promise<unknown>, code: string, message: string | RegExp, error = 'invalid_dpop_proof') {
  const caught = await verification.then(
    () => undefined,
    (e: unknown) => e,
  )
  t.type(caught, TokenRefusedError, `refused: ${code}`)
  t.match(caught, { code, error, status: 401, message }, `refused: ${code}`)
}

t.test('a bound token with a proof of its key for this request is accepted', async (t) => {
  const b = await bound(t)
  const verifier = b.setup.verifier()
  const source = b.setup.source({ dpop: true })
  // The source's own headers: its token and a proof of this request.
  const headers = await source.requestHeaders('GET', URL_CALLED, { audience: 'ledger-api', scope: 'ledger:read' })
  const verified = await verifier.verifyRequest({ method: 'GET', url: URL_CALLED, headers })
  t.equal(verified.subject, SUBJECT)
  t.same(verified.claims.cnf, { jkt: await source.dpopThumbprint() })
  // A proof made by hand the same way, at the edge of the window (60 s old).
  const edge = await makeProof(b.key, b.now - 60, { claims: { htm: 'GET', htu: HTU, ath: ath(b.token) } })
  t.equal((await verifier.verifyRequest(b.request({ dpop: edge }))).subject, SUBJECT, 'iat 60 s ago is in the window')
})

t.test('a bound token presented as a bearer token is refused', async (t) => {
  const b = await bound(t)
  const verifier = b.setup.verifier()
  const message = 'the token is DPoP-bound: present it as Authorization: DPoP with a DPoP proof'
  await refused(t, verifier.verify(b.token), 'token_bound', message, 'invalid_token')
  const withProof = { authorization: `Bearer ${b.token}`, dpop: await proof(b) }
  await refused(t, verifier.verifyRequest(b.request(withProof)), 'token_bound', message, 'invalid_token')
})

t.test('an unbound token presented with the DPoP scheme is refused, and accepted as Bearer', async (t) => {
  const b = await bound(t)
  const verifier = b.setup.verifier()
  const token = await b.setup.source().token({ audience: 'ledger-api' })
  const request = { method: 'GET', url: URL_CALLED, headers: { authorization: `DPoP ${token}`, dpop: await proof(b) } }
  await refused(
    t,
    verifier.verifyRequest(request),
    'token_not_bound',
    'the token is not DPoP-bound: present it as Authorization: Bearer',
    'invalid_token',
  )
  t.equal((await verifier.verifyRequest({ ...request, headers: { authorization: `Bearer ${token}` } })).subject, SUBJECT)
})

t.test('a proof made with another key is refused', async (t) => {
  const b = await bound(t)
  const other = await makeDpopKey('ES256')
  await refused(
    t,
    b.setup.verifier().verifyRequest(b.request({ dpop: await proof(b, {}, other) })),
    'dpop_key_mismatch',
    'the DPoP proof is signed by another key than the one the token is bound to (cnf.jkt)',
  )
})

t.test('a proof without a DPoP header, or with two, is refused', async (t) => {
  const b = await bound(t)
  const verifier = b.setup.verifier()
  await refused(
    t,
    verifier.verifyRequest(b.request({})),
    'dpop_proof_missing',
    'the token is DPoP-bound: the request needs a DPoP header with a proof',
  )
  const two = `${await proof(b)}, ${await proof(b)}`
  await refused(
    t,
    verifier.verifyRequest(b.request({ dpop: two })),
    'dpop_proof_invalid',
    'exactly one DPoP proof is allowed; the request has 2',
  )
})

t.test('a proof for another URL or another method is refused', async (t) => {
  const b = await bound(t)
  const verifier = b.setup.verifier()
  const elsewhere = await proof(b, { htu: 'https://ledger.example/entries/secret' })
  await refused(
    t,
    verifier.verifyRequest(b.request({ dpop: elsewhere })),
    'dpop_proof_invalid',
    `the DPoP proof's htu is "https://ledger.example/entries/secret"; this request is for ${HTU}`,
  )
  const otherHost = await proof(b, { htu: 'https://evil.example/entries' })
  await refused(t, verifier.verifyRequest(b.request({ dpop: otherHost })), 'dpop_proof_invalid', /htu is "https:\/\/evil.example\/entries"/)
  await refused(
    t,
    verifier.verifyRequest(b.request({ dpop: await proof(b) }, 'DELETE')),
    'dpop_proof_invalid',
    `the DPoP proof's htm is "GET"; this request is DELETE`,
  )
})

t.test('a proof without ath, or with the hash of another token, is refused', async (t) => {
  const b = await bound(t)
  const verifier = b.setup.verifier()
  await refused(
    t,
    verifier.verifyRequest(b.request({ dpop: await proof(b, { ath: undefined }) })),
    'dpop_proof_invalid',
    "the DPoP proof must have an ath, the access token's SHA-256 (base64url)",
  )
  await refused(
    t,
    verifier.verifyRequest(b.request({ dpop: await proof(b, { ath: ath(`${b.token}x`) }) })),
    'dpop_proof_invalid',
    "the DPoP proof's ath is not the SHA-256 of this access token",
  )
})

t.test('a proof used a second time is refused', async (t) => {
  const b = await bound(t)
  const verifier = b.setup.verifier()
  const request = b.request({ dpop: await proof(b) })
  t.equal((await verifier.verifyRequest(request)).subject, SUBJECT, 'the first use is accepted')
  await refused(
    t,
    verifier.verifyRequest(request),
    'dpop_proof_replayed',
    'this DPoP proof was already used: make a new proof for each request',
  )
  t.equal((await verifier.verifyRequest(b.request({ dpop: await proof(b) }))).subject, SUBJECT, 'a new proof is accepted')
})

t.test('a proof whose iat is out of the window is refused, either way', async (t) => {
  const b = await bound(t)
  const verifier = b.setup.verifier()
  const stale = await makeProof(b.key, b.now - 61, { claims: { htm: 'GET', htu: HTU, ath: ath(b.token) } })
  await refused(
    t,
    verifier.verifyRequest(b.request({ dpop: stale })),
    'dpop_proof_invalid',
    "the DPoP proof's iat is 61 s in the past: proofs are accepted within 60 s",
  )
  const ahead = await makeProof(b.key, b.now + 61, { claims: { htm: 'GET', htu: HTU, ath: ath(b.token) } })
  await refused(
    t,
    verifier.verifyRequest(b.request({ dpop: ahead })),
    'dpop_proof_invalid',
    "the DPoP proof's iat is 61 s ahead: proofs are accepted within 60 s",
  )
})

t.test('a proof that is not dpop+jwt, or not signed by its jwk, is refused', async (t) => {
  const b = await bound(t)
  const verifier = b.setup.verifier()
  const typed = await makeProof(b.key, b.now, { header: { typ: 'JWT' }, claims: { htm: 'GET', htu: HTU, ath: ath(b.token) } })
  await refused(
    t,
    verifier.verifyRequest(b.request({ dpop: typed })),
    'dpop_proof_invalid',
    `the DPoP proof's typ must be dpop+jwt, not "JWT"`,
  )
  const other = await makeDpopKey('ES256')
  const forged = await makeProof(b.key, b.now, { signWith: other.privateKey, claims: { htm: 'GET', htu: HTU, ath: ath(b.token) } })
  await refused(
    t,
    verifier.verifyRequest(b.request({ dpop: forged })),
    'dpop_proof_invalid',
    "the DPoP proof's signature does not verify with its jwk",
  )
})

t.test('the jti record is bounded: past it, proofs are refused rather than a live jti forgotten', async (t) => {
  const b = await bound(t)
  const { createVerifier, VerifierUnavailableError } = await import('../../src/index.js')
  const address = `http://127.0.0.1:${(b.setup.sts.app.server.address() as { port: number }).port}`
  const verifier = createVerifier({
    issuer: 'https://sts.test.example',
    audience: 'ledger-api',
    jwks: { uri: `${address}/.well-known/jwks.json` },
    revocations: false,
    dpop: { maxProofsRemembered: 1 },
    now: () => b.setup.sts.clock.now(),
  })
  t.teardown(() => verifier.close())
  await verifier.verifyRequest(b.request({ dpop: await proof(b) }))
  await t.rejects(verifier.verifyRequest(b.request({ dpop: await proof(b) })), VerifierUnavailableError)
  b.setup.sts.clock.advance(62_000)
  b.now += 62
  await verifier.verifyRequest(b.request({ dpop: await proof(b) }))
  t.pass('accepted again once the first jti left its window')
})

t.test('the Fastify adapter checks the proof of the request and answers with DPoP challenges', async (t) => {
  const b = await bound(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(accessTokenPlugin, { verifier: b.setup.verifier(), realm: 'ledger-api', origin: 'https://ledger.example' })
  app.get('/entries', async (request) => ({ subject: request.workload?.subject }))
  const call = async (headers: Record<string, string>) =>
    app.inject({ method: 'GET', url: '/entries?page=2', headers: { host: 'internal:8080', ...headers } })
  const ok = await call({ authorization: `DPoP ${b.token}`, dpop: await proof(b) })
  t.equal(ok.statusCode, 200)
  t.same(ok.json(), { subject: SUBJECT })

  const replayedProof = await proof(b)
  await call({ authorization: `DPoP ${b.token}`, dpop: replayedProof })
  const replayed = await call({ authorization: `DPoP ${b.token}`, dpop: replayedProof })
  t.equal(replayed.statusCode, 401)
  t.equal(
    replayed.headers['www-authenticate'],
    'DPoP realm="ledger-api", error="invalid_dpop_proof", error_description="this DPoP proof was already used: make a new proof for each request"',
  )
  t.same(replayed.json(), {
    error: 'invalid_dpop_proof',
    error_description: 'this DPoP proof was already used: make a new proof for each request',
  })

  const bearer = await call({ authorization: `Bearer ${b.token}` })
  t.equal(bearer.statusCode, 401)
  t.equal(
    bearer.headers['www-authenticate'],
    'DPoP realm="ledger-api", error="invalid_token", error_description="the token is DPoP-bound: present it as Authorization: DPoP with a DPoP proof"',
  )
})
