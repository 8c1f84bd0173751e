import Fastify from 'fastify'
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, exportJWK } from 'jose'
import * as oauth from 'openid-client'
import t, { type Test } from 'tap'
import { accessTokenPlugin } from '../../packages/client/src/adapters/fastify.js'
import { createVerifier } from '../../packages/client/src/index.js'
import { claimsOf } from '../support/dpop.js'
import { introspect } from '../support/introspect.js'
import { freePort } from '../support/ports.js'
import { JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN, type TestService } from '../support/service.js'

/**
 * Interop with an independent DPoP implementation (RFC 9449): openid-client (panva), which neither
 * shares code with this service nor with its client package, discovers the service, obtains a
 * DPoP-bound token by token exchange with proofs it makes itself (retrying on its own when the service
 * demands a nonce), and uses it at a resource server with a proof bound to that token, checked there by
 * the client package's verifier (its Fastify adapter). The service listens on a real port with its
 * issuer equal to its URL, as discovery requires.
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

/**
 * A resource server checking tokens with the client package's verifier (through its Fastify adapter),
 * as a real one would: on a port of its own, the proof's htu its own URL. It records what it was sent.
 */
async function resourceServer(t: Test, issuer: string): Promise<{ url: URL; requests: Array<{ authorization?: string; dpop?: string }> }> {
  // Only DPoP is under test here: this resource server does not follow revocations.
  const verifier = createVerifier({ issuer, audience: 'ledger-api', revocations: false })
  t.teardown(() => verifier.close())
  const app = Fastify()
  t.teardown(() => app.close())
  const requests: Array<{ authorization?: string; dpop?: string }> = []
  // Before the plugin's hook: every request is recorded, refused ones too.
  app.addHook('onRequest', async (request) => {
    requests.push({ authorization: request.headers.authorization, dpop: request.headers.dpop as string | undefined })
  })
  await app.register(accessTokenPlugin, { verifier, realm: 'ledger-api' })
  app.get('/ledger/balance', { config: { sts: { scopes: ['ledger:read'] } } }, async (request) => ({
    balance: 42,
    subject: request.workload!.subject,
  }))
  const address = await app.listen({ host: '127.0.0.1', port: 0 })
  return { url: new URL(`${address}/ledger/balance`), requests }
}

/** What openid-client makes of a refusal: it throws, with the status and the challenges it parsed itself. */
async function refusalSeenBy(request: Promise<Response>): Promise<{ status: number; challenges: unknown }> {
  const error = await request.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(error instanceof oauth.WWWAuthenticateChallengeError)) throw new Error(`not refused with a challenge: ${String(error)}`)
  return { status: error.response.status, challenges: error.cause }
}

const thumbprintOf = async (keyPair: oauth.CryptoKeyPair) => calculateJwkThumbprint(await exportJWK(keyPair.publicKey), 'sha256')

t.test(
  'openid-client obtains a DPoP-bound token with its own key and proof, and uses it at a resource server checking it with our verifier',
  async (t) => {
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

    t.match(
      await introspect(sts, answer.access_token),
      { active: true, sub: SUBJECT, cnf: { jkt }, token_type: 'DPoP' },
      'active and bound',
    )

    const resource = await resourceServer(t, issuer)
    const response = await oauth.fetchProtectedResource(config, answer.access_token, resource.url, 'GET', undefined, undefined, { DPoP })
    t.equal(response.status, 200, "accepted by our verifier: openid-client's proof is of this request, with the token's key")
    t.same(await response.json(), { balance: 42, subject: SUBJECT })
    t.equal(resource.requests.length, 1)
    const sent = resource.requests[0]!
    t.equal(sent.authorization, `DPoP ${answer.access_token}`, 'the DPoP scheme, not Bearer')
    const proof = decodeJwt(String(sent.dpop))
    t.same([proof.htm, proof.htu], ['GET', resource.url.href])
    t.not(proof.jti, tokenProof.jti, 'a fresh proof for each request')

    // The same request with a proof openid-client makes with another key: refused, as it understands it.
    const otherKey = oauth.getDPoPHandle(config, await oauth.randomDPoPKeyPair('ES256'))
    const description = 'the DPoP proof is signed by another key than the one the token is bound to (cnf.jkt)'
    t.same(
      await refusalSeenBy(
        oauth.fetchProtectedResource(config, answer.access_token, resource.url, 'GET', undefined, undefined, { DPoP: otherKey }),
      ),
      {
        status: 401,
        challenges: [{ scheme: 'dpop', parameters: { realm: 'ledger-api', error: 'invalid_dpop_proof', error_description: description } }],
      },
      'a proof of another key: 401 with a DPoP challenge',
    )
    // openid-client's own proof, sent again as it was: a replay.
    const replayed = await fetch(resource.url, { headers: { authorization: String(sent.authorization), dpop: String(sent.dpop) } })
    t.same(
      { status: replayed.status, challenge: replayed.headers.get('www-authenticate'), body: await replayed.json() },
      {
        status: 401,
        challenge:
          'DPoP realm="ledger-api", error="invalid_dpop_proof", error_description="this DPoP proof was already used: make a new proof for each request"',
        body: { error: 'invalid_dpop_proof', error_description: 'this DPoP proof was already used: make a new proof for each request' },
      },
      'a replayed proof: 401 with a DPoP challenge',
    )
    // The bound token without any proof, as a bearer token.
    const bearerDescription = 'the token is DPoP-bound: present it as Authorization: DPoP with a DPoP proof'
    t.same(
      await refusalSeenBy(oauth.fetchProtectedResource(config, answer.access_token, resource.url, 'GET')),
      {
        status: 401,
        challenges: [{ scheme: 'dpop', parameters: { realm: 'ledger-api', error: 'invalid_token', error_description: bearerDescription } }],
      },
      'the bound token as a bearer token: 401 with a DPoP challenge',
    )
    t.equal(resource.requests.length, 4, 'each request reached the resource server')
  },
)

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
