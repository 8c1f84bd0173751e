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

async function refused(
  t: Test,
  verification: Promise<unknown>,
  code: string,
  message: string | RegExp,
  error = 'invalid_dpop_proof',
  what = code,
) {
  const caught = await verification.then(
    () => undefined,
    (e: unknown) => e,
  )
  t.type(caught, TokenRefusedError, `${what}: refused`)
  t.match(caught, { code, error, status: 401, message }, `${what}: ${code}`)
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

t.test('a bound token without a good proof of this request is refused, each fault with its code and message', async (t) => {
  const b = await bound(t)
  const verifier = b.setup.verifier()
  const other = await makeDpopKey('ES256')
  const withProof = async (dpop: Promise<string> | string, method?: string) =>
    verifier.verifyRequest(b.request({ dpop: await dpop }, method))
  const window = (iat: number) => makeProof(b.key, iat, { claims: { htm: 'GET', htu: HTU, ath: ath(b.token) } })
  const bearerMessage = 'the token is DPoP-bound: present it as Authorization: DPoP with a DPoP proof'
  const cases: Array<{ what: string; verification: () => Promise<unknown>; code: string; message: string | RegExp; error?: string }> = [
    {
      what: 'presented as a bearer token',
      verification: () => verifier.verify(b.token),
      code: 'token_bound',
      message: bearerMessage,
      error: 'invalid_token',
    },
    {
      what: 'presented as Bearer, with a proof beside',
      verification: async () => verifier.verifyRequest(b.request({ authorization: `Bearer ${b.token}`, dpop: await proof(b) })),
      code: 'token_bound',
      message: bearerMessage,
      error: 'invalid_token',
    },
    {
      what: 'a proof made with another key',
      verification: () => withProof(proof(b, {}, other)),
      code: 'dpop_key_mismatch',
      message: 'the DPoP proof is signed by another key than the one the token is bound to (cnf.jkt)',
    },
    {
      what: 'no DPoP header',
      verification: () => verifier.verifyRequest(b.request({})),
      code: 'dpop_proof_missing',
      message: 'the token is DPoP-bound: the request needs a DPoP header with a proof',
    },
    {
      what: 'two proofs',
      verification: async () => withProof(`${await proof(b)}, ${await proof(b)}`),
      code: 'dpop_proof_invalid',
      message: 'exactly one DPoP proof is allowed; the request has 2',
    },
    {
      what: 'a proof for another URL',
      verification: () => withProof(proof(b, { htu: 'https://ledger.example/entries/secret' })),
      code: 'dpop_proof_invalid',
      message: `the DPoP proof's htu is "https://ledger.example/entries/secret"; this request is for ${HTU}`,
    },
    {
      what: 'a proof for another host',
      verification: () => withProof(proof(b, { htu: 'https://evil.example/entries' })),
      code: 'dpop_proof_invalid',
      message: /htu is "https:\/\/evil.example\/entries"/,
    },
    {
      what: 'a proof for another method',
      verification: () => withProof(proof(b), 'DELETE'),
      code: 'dpop_proof_invalid',
      message: `the DPoP proof's htm is "GET"; this request is DELETE`,
    },
    {
      what: 'a proof without ath',
      verification: () => withProof(proof(b, { ath: undefined })),
      code: 'dpop_proof_invalid',
      message: "the DPoP proof must have an ath, the access token's SHA-256 (base64url)",
    },
    {
      what: 'a proof with the hash of another token',
      verification: () => withProof(proof(b, { ath: ath(`${b.token}x`) })),
      code: 'dpop_proof_invalid',
      message: "the DPoP proof's ath is not the SHA-256 of this access token",
    },
    {
      what: 'a proof 61 s old',
      verification: () => withProof(window(b.now - 61)),
      code: 'dpop_proof_invalid',
      message: "the DPoP proof's iat is 61 s in the past: proofs are accepted within 60 s",
    },
    {
      what: 'a proof 61 s ahead',
      verification: () => withProof(window(b.now + 61)),
      code: 'dpop_proof_invalid',
      message: "the DPoP proof's iat is 61 s ahead: proofs are accepted within 60 s",
    },
    {
      what: 'a proof typed JWT',
      verification: () =>
        withProof(makeProof(b.key, b.now, { header: { typ: 'JWT' }, claims: { htm: 'GET', htu: HTU, ath: ath(b.token) } })),
      code: 'dpop_proof_invalid',
      message: `the DPoP proof's typ must be dpop+jwt, not "JWT"`,
    },
    {
      what: 'a proof not signed by its jwk',
      verification: () =>
        withProof(makeProof(b.key, b.now, { signWith: other.privateKey, claims: { htm: 'GET', htu: HTU, ath: ath(b.token) } })),
      code: 'dpop_proof_invalid',
      message: "the DPoP proof's signature does not verify with its jwk",
    },
  ]
  for (const { what, verification, code, message, error } of cases) await refused(t, verification(), code, message, error, what)
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
