import { createHash } from 'node:crypto'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, EmbeddedJWK, exportJWK, jwtVerify, type JWK } from 'jose'
import * as oauth from 'openid-client'
import t, { type Test } from 'tap'
import { claimsOf } from '../support/dpop.js'
import { freePort } from '../support/ports.js'
import { JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN, type TestService } from '../support/service.js'

/**
 * Interop with an independent DPoP implementation (RFC 9449): openid-client (panva), which neither
 * shares code with this service nor with its client package, discovers the service, obtains a
 * DPoP-bound token by token exchange with proofs it makes itself (retrying on its own when the service
 * demands a nonce), and uses it at a resource server with a proof bound to that token. The service
 * listens on a real port with its issuer equal to its URL, as discovery requires.
 */

const SUBJECT = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`

interface Seen {
  url: string
  status: number
  dpop: string | null
}

/** The service on a port whose URL is its issuer; the clock starts at the real time, as openid-client's proofs are of real time. */
async function listening(t: Test, dpop: Record<string, unknown> = {}): Promise<{ sts: TestService; issuer: string }> {
  const port = await freePort()
  const issuer = `http://127.0.0.1:${port}`
  const sts = await startTestService(t, { now: Date.now(), config: { issuer, dpop } })
  await sts.app.listen({ host: '127.0.0.1', port })
  await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`,
    audiences: ['ledger-api'],
    scopes: ['ledger:read'],
    owner: 'team-payments',
  })
  return { sts, issuer }
}

/** openid-client configured by discovery, with every request it sends recorded (its own fetch, wrapped). */
async function discover(issuer: string): Promise<{ config: oauth.Configuration; seen: Seen[] }> {
  const seen: Seen[] = []
  // allowInsecureRequests only because this test server speaks plain HTTP on loopback.
  const config = await oauth.discovery(new URL(issuer), 'payments-api', undefined, oauth.None(), { execute: [oauth.allowInsecureRequests] })
  config[oauth.customFetch] = async (url, options) => {
    const response = await fetch(url, options as RequestInit)
    seen.push({ url, status: response.status, dpop: new Headers(options.headers as ConstructorParameters<typeof Headers>[0]).get('dpop') })
    return response
  }
  return { config, seen }
}

async function exchange(sts: TestService, config: oauth.Configuration, DPoP: oauth.DPoPHandle) {
  return oauth.genericGrantRequest(
    config,
    TOKEN_EXCHANGE,
    {
      subject_token: await sts.cluster.serviceAccountToken(),
      subject_token_type: JWT_TOKEN_TYPE,
      audience: 'ledger-api',
      scope: 'ledger:read',
    },
    { DPoP },
  )
}

async function introspect(sts: TestService, token: string): Promise<Record<string, unknown>> {
  const response = await sts.app.inject({
    method: 'POST',
    url: '/oauth2/introspect',
    headers: { ...sts.admin, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ token }).toString(),
  })
  return response.json()
}

/** A resource server that only records what it was sent: the checks are the test's own. */
async function resourceServer(t: Test): Promise<{ url: URL; requests: IncomingHttpHeaders[] }> {
  const requests: IncomingHttpHeaders[] = []
  const server = createServer((request, response) => {
    requests.push(request.headers)
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"balance":42}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const address = server.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  return { url: new URL(`http://127.0.0.1:${port}/ledger/balance`), requests }
}

const thumbprintOf = async (keyPair: oauth.CryptoKeyPair) => calculateJwkThumbprint(await exportJWK(keyPair.publicKey), 'sha256')

t.test('openid-client obtains a DPoP-bound token with its own key and proof, and uses it at a resource server', async (t) => {
  const { sts, issuer } = await listening(t)
  const { config, seen } = await discover(issuer)
  t.same(config.serverMetadata().dpop_signing_alg_values_supported, ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'])

  const keyPair = await oauth.randomDPoPKeyPair('ES256')
  const jkt = await thumbprintOf(keyPair)
  const DPoP = oauth.getDPoPHandle(config, keyPair)
  const answer = await exchange(sts, config, DPoP)

  t.equal(answer.token_type, 'dpop', 'token_type DPoP (openid-client lower-cases it)')
  const claims = claimsOf(answer.access_token)
  t.same(claims.cnf, { jkt }, "bound to openid-client's key")
  t.equal(claims.sub, SUBJECT)
  t.same(
    seen.map((request) => [request.url, request.status]),
    [[`${issuer}/oauth2/token`, 200]],
    'one token request, no nonce retry when nonces are off',
  )
  const tokenProof = decodeJwt(String(seen[0].dpop))
  t.equal(tokenProof.htu, `${issuer}/oauth2/token`)
  t.equal(tokenProof.nonce, undefined)

  t.match(await introspect(sts, answer.access_token), { active: true, sub: SUBJECT, cnf: { jkt }, token_type: 'DPoP' }, 'active and bound')

  const resource = await resourceServer(t)
  const response = await oauth.fetchProtectedResource(config, answer.access_token, resource.url, 'GET', undefined, undefined, { DPoP })
  t.equal(response.status, 200)
  t.same(await response.json(), { balance: 42 })
  t.equal(resource.requests.length, 1)
  const headers = resource.requests[0]
  t.equal(headers.authorization, `DPoP ${answer.access_token}`, 'the DPoP scheme, not Bearer')
  const proof = String(headers.dpop)
  // The proof verifies against the key in its own header, and that key is the one the token is bound to.
  const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt' })
  const bound = (claims.cnf as { jkt?: string } | undefined)?.jkt
  t.equal(await calculateJwkThumbprint(protectedHeader.jwk as JWK, 'sha256'), bound, 'signed with the key the token is bound to')
  t.equal(payload.ath, createHash('sha256').update(answer.access_token).digest('base64url'), 'ath is the hash of the token')
  t.equal(payload.htm, 'GET')
  t.equal(payload.htu, resource.url.href)
  t.not(payload.jti, tokenProof.jti, 'a fresh proof for each request')
})

t.test('with nonces required, openid-client retries on use_dpop_nonce by itself and gets a bound token', async (t) => {
  const { sts, issuer } = await listening(t, { nonce: 'required' })
  const { config, seen } = await discover(issuer)
  const keyPair = await oauth.randomDPoPKeyPair('ES256')
  const DPoP = oauth.getDPoPHandle(config, keyPair)

  const answer = await exchange(sts, config, DPoP)
  t.equal(answer.token_type, 'dpop')
  t.same(claimsOf(answer.access_token).cnf, { jkt: await thumbprintOf(keyPair) })
  t.same(
    seen.map((request) => request.status),
    [400, 200],
    'refused for want of a nonce, then accepted on the retry',
  )
  const [first, retry] = seen.map((request) => decodeJwt(String(request.dpop)))
  t.equal(first.nonce, undefined)
  t.type(retry.nonce, 'string', 'the retry carries the nonce the service handed out')
  t.not(retry.jti, first.jti)
  t.equal(decodeProtectedHeader(String(seen[1].dpop)).typ, 'dpop+jwt')

  // The handle keeps the nonce: the next exchange needs no retry.
  await exchange(sts, config, DPoP)
  t.same(
    seen.map((request) => request.status),
    [400, 200, 200],
    'a second exchange with the remembered nonce goes through at once',
  )
  t.match(await introspect(sts, answer.access_token), { active: true, cnf: { jkt: await thumbprintOf(keyPair) } })
})
