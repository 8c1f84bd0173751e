import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import {
  claimsOf,
  exchangeWithProof,
  makeDpopKey,
  makeProof,
  nowOf,
  refusal,
  TOKEN_ENDPOINT,
  unsecuredProof,
  type DpopKey,
} from '../support/dpop.js'
import { ISSUER, startTestService, TRUST_DOMAIN, type TestServiceOptions } from '../support/service.js'

/**
 * DPoP (RFC 9449) at the token endpoint, on real Postgres and Redis: a proof gets a token bound to
 * its key, and every fault of a proof that RFC 9449 section 4.3 names is refused, by name.
 */

const SUBJECT = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token'
const key: DpopKey = await makeDpopKey('ES256')

async function start(t: Test, options: TestServiceOptions = {}, grant: Record<string, unknown> = {}) {
  const sts = await startTestService(t, options)
  const created = await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`,
    audiences: ['ledger-api'],
    scopes: ['ledger:read'],
    owner: 'team-payments',
    ...grant,
  })
  return { sts, grant: created }
}

const invalid = (description: string, reason = 'dpop_proof_invalid') => ({
  error: 'invalid_dpop_proof',
  error_description: description,
  error_reason: reason,
})

t.test('a request with a valid proof gets a token bound to its key, recorded and introspected as bound', async (t) => {
  const { sts, grant } = await start(t)
  const now = nowOf(sts)
  const answer = await exchangeWithProof(sts, await makeProof(key, now))
  t.equal(answer.statusCode, 200)
  t.same(answer.body, {
    access_token: answer.body.access_token,
    issued_token_type: ACCESS_TOKEN,
    token_type: 'DPoP',
    expires_in: 300,
    scope: 'ledger:read',
  })
  t.notOk('dpop-nonce' in answer.headers, 'no nonce without dpop.nonce: required')
  const claims = claimsOf(answer.body.access_token)
  t.same(claims, {
    iss: ISSUER,
    sub: SUBJECT,
    aud: 'ledger-api',
    exp: now + 300,
    iat: now,
    nbf: now,
    jti: claims.jti,
    client_id: SUBJECT,
    scope: 'ledger:read',
    grants: [grant.id],
    src_h: claims.src_h,
    cnf: { jkt: key.jkt },
  })
  t.equal(key.jkt.length, 43, 'the RFC 7638 SHA-256 thumbprint, base64url')

  const entry = await sts.services.ledger.get(String(claims.jti))
  t.equal(entry?.jkt, key.jkt, 'the ledger records the bound key')

  const introspected = await sts.app.inject({
    method: 'POST',
    url: '/oauth2/introspect',
    headers: { ...sts.admin, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ token: String(answer.body.access_token) }).toString(),
  })
  t.match(introspected.json(), { active: true, token_type: 'DPoP', cnf: { jkt: key.jkt }, jti: claims.jti })
})

t.test('a request without a proof gets a bearer token, with no cnf and no thumbprint on the ledger', async (t) => {
  const { sts } = await start(t)
  const answer = await exchangeWithProof(sts, undefined)
  t.equal(answer.statusCode, 200)
  t.equal(answer.body.token_type, 'Bearer')
  const claims = claimsOf(answer.body.access_token)
  t.notOk('cnf' in claims)
  const entry = await sts.services.ledger.get(String(claims.jti))
  t.ok(entry)
  t.notOk(entry && 'jkt' in entry)
  const introspected = await sts.app.inject({
    method: 'POST',
    url: '/oauth2/introspect',
    headers: { ...sts.admin, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ token: String(answer.body.access_token) }).toString(),
  })
  t.match(introspected.json(), { active: true, token_type: 'Bearer' })
  t.notOk('cnf' in introspected.json())
})

t.test('every fault of a proof is refused with invalid_dpop_proof, naming it', async (t) => {
  const { sts } = await start(t)
  const now = nowOf(sts)
  const other = await makeDpopKey('ES256')
  const cases: [string, () => Promise<string | string[]>, string][] = [
    [
      'a proof for another URL',
      () => makeProof(key, now, { claims: { htu: `${ISSUER}/oauth2/introspect` } }),
      `the DPoP proof's htu is "${ISSUER}/oauth2/introspect"; this endpoint is ${TOKEN_ENDPOINT}`,
    ],
    [
      'a proof for another host',
      () => makeProof(key, now, { claims: { htu: 'https://evil.example/oauth2/token' } }),
      `the DPoP proof's htu is "https://evil.example/oauth2/token"; this endpoint is ${TOKEN_ENDPOINT}`,
    ],
    [
      'a proof for another method',
      () => makeProof(key, now, { claims: { htm: 'GET' } }),
      `the DPoP proof's htm is "GET"; this request is POST`,
    ],
    [
      'an iat too old',
      () => makeProof(key, now, { claims: { iat: now - 61 } }),
      "the DPoP proof's iat is 61 s in the past: proofs are accepted within 60 s of this server's clock",
    ],
    [
      'an iat too far ahead',
      () => makeProof(key, now, { claims: { iat: now + 61 } }),
      "the DPoP proof's iat is 61 s ahead: proofs are accepted within 60 s of this server's clock",
    ],
    ['no iat', () => makeProof(key, now, { claims: { iat: undefined } }), 'the DPoP proof must have an iat (seconds since the epoch)'],
    [
      'no jti',
      () => makeProof(key, now, { claims: { jti: undefined } }),
      'the DPoP proof must have a jti: a unique string of at most 256 printable characters',
    ],
    [
      'a jti with a control character',
      () => makeProof(key, now, { claims: { jti: 'a\u0000b' } }),
      'the DPoP proof must have a jti: a unique string of at most 256 printable characters',
    ],
    [
      'an exp that has passed',
      () => makeProof(key, now, { claims: { exp: now - 1 } }),
      "the DPoP proof's exp has passed, or is not a number",
    ],
    ['an nbf ahead', () => makeProof(key, now, { claims: { nbf: now + 3600 } }), "the DPoP proof's nbf is ahead, or is not a number"],
    [
      'a jwk for another algorithm',
      () => makeProof(key, now, { header: { jwk: { ...key.publicJwk, alg: 'ES384' } } }),
      `the DPoP proof's jwk is for "ES384", not ES256`,
    ],
    [
      'a jwk for encryption',
      () => makeProof(key, now, { header: { jwk: { ...key.publicJwk, use: 'enc' } } }),
      "the DPoP proof's jwk is not for signatures (use)",
    ],
    [
      'a jwk whose key_ops exclude verify',
      () => makeProof(key, now, { header: { jwk: { ...key.publicJwk, key_ops: ['encrypt'] } } }),
      "the DPoP proof's jwk is not for verifying signatures (key_ops)",
    ],
    ['typ JWT', () => makeProof(key, now, { header: { typ: 'JWT' } }), `the DPoP proof's typ must be dpop+jwt, not "JWT"`],
    ['no typ', () => makeProof(key, now, { header: { typ: undefined } }), `the DPoP proof's typ must be dpop+jwt, not missing`],
    [
      'alg none',
      async () => unsecuredProof(key, now),
      `the DPoP proof's alg "none" is not accepted: sign it with one of ES256, ES384, EdDSA, RS256, PS256 (asymmetric algorithms only)`,
    ],
    [
      'alg HS256',
      () =>
        makeProof(key, now, {
          header: { alg: 'HS256', jwk: { kty: 'oct', k: 'c2VjcmV0' } },
          signWith: new Uint8Array(randomBytes(32)),
        }),
      `the DPoP proof's alg "HS256" is not accepted: sign it with one of ES256, ES384, EdDSA, RS256, PS256 (asymmetric algorithms only)`,
    ],
    [
      'a private key in jwk',
      () => makeProof(key, now, { header: { jwk: key.privateJwk } }),
      "the DPoP proof's jwk must be a public key; it has the private or symmetric member(s) d",
    ],
    ['no jwk', () => makeProof(key, now, { header: { jwk: undefined } }), "the DPoP proof's header must carry its public key as jwk"],
    [
      'a signature by another key',
      () => makeProof(key, now, { signWith: other.privateKey }),
      "the DPoP proof's signature does not verify with its jwk",
    ],
    ['not a JWS', async () => 'not-a-proof', 'the DPoP header is not a JWS in compact form'],
    [
      'two DPoP headers',
      async () => [await makeProof(key, now), await makeProof(key, now)],
      'exactly one DPoP header is allowed; the request has 2',
    ],
  ]
  for (const [name, proof, description] of cases) {
    refusal(t, await exchangeWithProof(sts, await proof()), invalid(description), name)
  }
  // And none of them got a token: the only tokens on the ledger come from the request below.
  const good = await exchangeWithProof(sts, await makeProof(key, now))
  t.equal(good.statusCode, 200, 'the same request with a sound proof is answered')
})

t.test('iat exactly at the edges of the window is accepted', async (t) => {
  const { sts } = await start(t)
  const now = nowOf(sts)
  t.equal((await exchangeWithProof(sts, await makeProof(key, now, { claims: { iat: now - 60 } }))).statusCode, 200)
  t.equal((await exchangeWithProof(sts, await makeProof(key, now, { claims: { iat: now + 60 } }))).statusCode, 200)
})

t.test('dpop.proofWindowSeconds narrows the window', async (t) => {
  const { sts } = await start(t, { config: { dpop: { proofWindowSeconds: 10 } } })
  const now = nowOf(sts)
  refusal(
    t,
    await exchangeWithProof(sts, await makeProof(key, now, { claims: { iat: now - 11 } })),
    invalid("the DPoP proof's iat is 11 s in the past: proofs are accepted within 10 s of this server's clock"),
  )
})

t.test('dpop.algorithms decides what proofs may be signed with, and discovery says so', async (t) => {
  const { sts } = await start(t, { config: { dpop: { algorithms: ['EdDSA'] } } })
  const metadata = (await sts.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json()
  t.same(metadata.dpop_signing_alg_values_supported, ['EdDSA'])
  refusal(
    t,
    await exchangeWithProof(sts, await makeProof(key, nowOf(sts))),
    invalid(`the DPoP proof's alg "ES256" is not accepted: sign it with one of EdDSA (asymmetric algorithms only)`),
  )
  const ed = await makeDpopKey('EdDSA')
  const answer = await exchangeWithProof(sts, await makeProof(ed, nowOf(sts)))
  t.equal(answer.statusCode, 200)
  t.same(claimsOf(answer.body.access_token).cnf, { jkt: ed.jkt })
})

t.test('discovery advertises the default DPoP algorithms', async (t) => {
  const { sts } = await start(t)
  const metadata = (await sts.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json()
  t.same(metadata.dpop_signing_alg_values_supported, ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'])
})
