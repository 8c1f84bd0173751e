import { decodeProtectedHeader, decodeJwt, generateKeyPair } from 'jose'
import t from 'tap'
import { ISSUER } from '../../../../test/support/service.js'
import { StsError } from '../../src/index.js'
import { claimsOf, dpopSetup } from '../support/dpop-service.js'
import { issued } from '../support/sts-stand-in.js'
import { harness } from './setup.js'

// The token source with DPoP (RFC 9449) against the real service: its tokens are bound to its key,
// and with nonces required it answers the service's use_dpop_nonce once and remembers the nonce.

const TOKEN_ENDPOINT = `${ISSUER}/oauth2/token`

t.test('with dpop, each token request carries a fresh proof and the token is bound to the source key', async (t) => {
  const setup = await dpopSetup(t)
  const source = setup.source({ dpop: true })
  const token = await source.accessToken({ audience: 'ledger-api', scope: 'ledger:read' })
  t.equal(token.tokenType, 'DPoP')
  const jkt = await source.dpopThumbprint()
  t.match(jkt, /^[A-Za-z0-9_-]{43}$/)
  t.same(claimsOf(token.token).cnf, { jkt }, 'bound to the key of the source')
  await source.token({ audience: 'ledger-api', scope: 'ledger:list' })
  t.equal(setup.proofsSent.length, 2, 'one request per token: no nonce needed')
  const [first, second] = setup.proofsSent.map((proof) => decodeJwt(String(proof)))
  t.match(first, { htm: 'POST', htu: TOKEN_ENDPOINT, iat: Math.floor(setup.sts.clock.now() / 1000) })
  t.equal(first?.nonce, undefined, 'no nonce before the service gives one')
  t.not(first?.jti, second?.jti, 'a new jti for each proof')
  t.equal(decodeProtectedHeader(String(setup.proofsSent[0])).typ, 'dpop+jwt')
})

t.test('without dpop, the same source gets a bearer token and sends no proof', async (t) => {
  const setup = await dpopSetup(t)
  const source = setup.source()
  const token = await source.accessToken({ audience: 'ledger-api' })
  t.equal(token.tokenType, 'Bearer')
  t.equal(claimsOf(token.token).cnf, undefined)
  t.same(setup.proofsSent, [undefined])
  t.same(await source.requestHeaders('GET', 'https://ledger.example/entries', { audience: 'ledger-api' }), {
    authorization: `Bearer ${token.token}`,
  })
  await t.rejects(
    source.dpopProof('GET', 'https://ledger.example/entries'),
    new TypeError('tokenSource: DPoP proofs need the `dpop` option'),
  )
})

t.test('with nonces required, the source retries once with the nonce given and remembers it', async (t) => {
  const setup = await dpopSetup(t, { config: { dpop: { nonce: 'required' } } })
  const source = setup.source({ dpop: true })
  const token = await source.accessToken({ audience: 'ledger-api', scope: 'ledger:read' })
  t.equal(token.tokenType, 'DPoP')
  t.equal(setup.proofsSent.length, 2, 'refused once for want of a nonce, then issued')
  const [refused, accepted] = setup.proofsSent.map((proof) => decodeJwt(String(proof)))
  t.equal(refused?.nonce, undefined)
  t.type(accepted?.nonce, 'string', 'the retry carries the nonce of the refusal')
  await source.token({ audience: 'ledger-api', scope: 'ledger:list' })
  t.equal(setup.proofsSent.length, 3, 'the next token takes one request: the nonce was remembered')
  t.type(decodeJwt(String(setup.proofsSent[2])).nonce, 'string')
})

t.test('a key pair of the workload is used as given', async (t) => {
  const setup = await dpopSetup(t)
  const key = await generateKeyPair('EdDSA')
  const source = setup.source({ dpop: { key, algorithm: 'EdDSA' } })
  const token = await source.token({ audience: 'ledger-api' })
  t.same(claimsOf(token).cnf, { jkt: await source.dpopThumbprint() })
  t.equal(decodeProtectedHeader(String(setup.proofsSent[0])).alg, 'EdDSA')
})

t.test('a bearer answer to a request with a proof is refused: the workload asked for a bound token', async (t) => {
  const { source } = harness(t, () => issued(300), { dpop: true })
  await t.rejects(
    source.token(),
    new StsError('invalid_response', 'the STS answered token_type Bearer to a request with a DPoP proof, not DPoP', 200),
  )
})

t.test('the proof of a resource request names it, and the token by its hash', async (t) => {
  const { source } = harness(t, () => issued(300, { token_type: 'DPoP' }), { dpop: true })
  const headers = await source.requestHeaders('get', 'https://ledger.example/entries?page=2#top')
  t.match(headers.authorization, /^DPoP access-token-\d+$/)
  const claims = decodeJwt(String(headers.dpop))
  t.match(claims, { htm: 'GET', htu: 'https://ledger.example/entries' })
  const token = headers.authorization.slice('DPoP '.length)
  const { createHash } = await import('node:crypto')
  t.equal(claims.ath, createHash('sha256').update(token).digest('base64url'))
  source.dpopNonce('https://ledger.example/other', 'rs-nonce-1')
  t.equal(decodeJwt(await source.dpopProof('POST', 'https://ledger.example/x')).nonce, 'rs-nonce-1', 'per origin')
  t.equal(decodeJwt(await source.dpopProof('POST', 'https://elsewhere.example/x')).nonce, undefined)
})
