import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import { createVerifier, TokenRefusedError, VerifierUnavailableError, type StreamLoss, type VerifierOptions } from '../../src/index.js'
import { signToken, startJwksServer, testKey } from '../support/issuer.js'

const ISSUER = 'https://sts.test.example'
const now = 1_795_000_000
const claims = {
  iss: ISSUER,
  sub: 'spiffe://example.org/k8s/prod/ns/payments/sa/api',
  aud: 'ledger-api',
  exp: now + 300,
  iat: now,
  nbf: now,
  jti: '0196b2a0-0000-7000-8000-000000000001',
  client_id: 'spiffe://example.org/k8s/prod/ns/payments/sa/api',
  scope: 'ledger:read ledger:write',
  grants: ['0b8f3c2e-0000-4000-8000-00000000000a'],
  src_h: ['Yk2mNn3ZP9m5cN7dQ0lmvRzZ8Q2jK6bqX1oWmE4aT0c'],
}

function options(jwksUri: string, extra: Partial<VerifierOptions> = {}): VerifierOptions {
  return { issuer: ISSUER, audience: 'ledger-api', jwks: { uri: jwksUri }, revocations: false, now: () => now * 1000, ...extra }
}

/** An `act` claim `depth` actors deep: agent-1 acting for agent-2, ... */
function actChain(depth: number): Record<string, unknown> {
  let act: Record<string, unknown> | undefined
  for (let level = depth; level >= 1; level--) act = { sub: `spiffe://example.org/agents/agent-${level}`, ...(act ? { act } : {}) }
  return act!
}

/** The refusal's code, status and RFC 6750 error, or what else was thrown. */
async function refusal(promise: Promise<unknown>) {
  try {
    await promise
    return 'accepted'
  } catch (error) {
    if (error instanceof TokenRefusedError) return { code: error.code, status: error.status, error: error.error }
    throw error
  }
}

t.test('a verifier that follows no revocations is ready at once', async (t) => {
  const verifier = createVerifier(options('http://127.0.0.1:9/jwks.json'))
  const ready = await Promise.race([
    verifier.ready().then(() => 'ready'),
    new Promise((resolve) => setTimeout(() => resolve('waiting'), 1000)),
  ])
  t.equal(ready, 'ready')
  t.equal(verifier.status().revocations, 'off')
  await verifier.close()
})

t.test('a token as the STS mints it verifies, and the result says who and what', async (t) => {
  const key = testKey('key-1')
  const jwks = await startJwksServer(t, [key])
  const verifier = createVerifier(options(jwks.uri))
  const token = signToken(key, claims)
  t.same(await verifier.verify(token, { scopes: ['ledger:read'] }), {
    subject: claims.sub,
    scopes: ['ledger:read', 'ledger:write'],
    audience: 'ledger-api',
    grants: claims.grants,
    tokenId: claims.jti,
    actors: [],
    ancestorTokenIds: [],
    keyId: 'key-1',
    issuedAt: new Date(now * 1000),
    expiresAt: new Date((now + 300) * 1000),
    claims,
  })
  const ed = testKey('key-ed', 'EdDSA')
  jwks.keys.push(ed)
  const edVerifier = createVerifier(options(jwks.uri, { audience: ['billing-api', 'ledger-api'] }))
  t.equal((await edVerifier.verify(signToken(ed, claims))).audience, 'ledger-api', 'EdDSA, and one of several audiences')
  t.same(verifier.status(), { revocations: 'off', held: 0 })
})

t.test('a delegated and narrowed token: the result says who acts, through whom, and from which tokens', async (t) => {
  const key = testKey('key-1')
  const jwks = await startJwksServer(t, [key])
  const verifier = createVerifier(options(jwks.uri))
  const act = { sub: 'spiffe://example.org/agents/planner', act: { sub: 'spiffe://example.org/k8s/prod/ns/tools/sa/router' } }
  const ancestors = ['0196b2a0-0000-7000-8000-0000000000a1', '0196b2a0-0000-7000-8000-0000000000a2']
  const delegated = { ...claims, act, ancestor_jtis: ancestors }
  t.same(await verifier.verify(signToken(key, delegated)), {
    subject: claims.sub,
    scopes: ['ledger:read', 'ledger:write'],
    audience: 'ledger-api',
    grants: claims.grants,
    tokenId: claims.jti,
    actors: ['spiffe://example.org/agents/planner', 'spiffe://example.org/k8s/prod/ns/tools/sa/router'],
    act,
    ancestorTokenIds: ancestors,
    keyId: 'key-1',
    issuedAt: new Date(now * 1000),
    expiresAt: new Date((now + 300) * 1000),
    claims: delegated,
  })
  const ten = await verifier.verify(signToken(key, { ...claims, act: actChain(10) }))
  t.same(
    ten.actors,
    Array.from({ length: 10 }, (_, i) => `spiffe://example.org/agents/agent-${i + 1}`),
    'ten actors deep is accepted, current actor first',
  )
  t.same((await verifier.verify(signToken(key, { ...claims, ancestor_jtis: [] }))).ancestorTokenIds, [], 'an empty ancestor_jtis')
})

t.test('every check refuses with its own code', async (t) => {
  const key = testKey('key-1')
  const ed = testKey('key-ed', 'EdDSA')
  const jwks = await startJwksServer(t, [key, ed])
  const verifier = createVerifier(options(jwks.uri, { requiredScopes: ['ledger:read'] }))
  const invalid = (code: string) => ({ code, status: 401, error: 'invalid_token' })
  const good = signToken(key, claims)
  const { iss: _iss, ...withoutIss } = claims
  const cases: Array<[string, string, object]> = [
    ['not a JWS', 'a.b', invalid('token_malformed')],
    ['claims not JSON', `${good.split('.')[0]}.bm90IGpzb24.${good.split('.')[2]}`, invalid('token_malformed')],
    ['HS256', signToken(key, claims, { alg: 'HS256' }), invalid('algorithm_not_accepted')],
    ['alg none', signToken(key, claims, { alg: 'none' }), invalid('algorithm_not_accepted')],
    ['typ JWT (an ID token)', signToken(key, claims, { typ: 'JWT' }), invalid('type_not_accepted')],
    ['a crit header', signToken(key, claims, { crit: ['exp'] }), invalid('type_not_accepted')],
    ['no kid', signToken(key, claims, { kid: undefined }), invalid('token_malformed')],
    ['an unknown kid', signToken(key, claims, { kid: 'key-9' }), invalid('key_unknown')],
    ['another key', signToken(testKey('key-1'), claims), invalid('signature_invalid')],
    ['ES256 said, an Ed25519 key named', signToken(ed, claims, { alg: 'ES256' }), invalid('signature_invalid')],
    [
      'claims changed after signing',
      `${good.split('.')[0]}.${Buffer.from(JSON.stringify({ ...claims, scope: 'admin' })).toString('base64url')}.${good.split('.')[2]}`,
      invalid('signature_invalid'),
    ],
    ['another issuer', signToken(key, { ...claims, iss: 'https://other.example' }), invalid('issuer_mismatch')],
    ['no issuer', signToken(key, withoutIss), invalid('issuer_mismatch')],
    ['another audience', signToken(key, { ...claims, aud: 'billing-api' }), invalid('audience_mismatch')],
    [
      'expired beyond the tolerance',
      signToken(key, { ...claims, iat: now - 400, nbf: now - 400, exp: now - 11 }),
      invalid('token_expired'),
    ],
    ['not valid yet', signToken(key, { ...claims, nbf: now + 11, iat: now + 11, exp: now + 311 }), invalid('token_not_yet_valid')],
    ['living longer than a day', signToken(key, { ...claims, exp: now + 86_401 }), invalid('token_lifetime_too_long')],
    ['no grants claim', signToken(key, { ...claims, grants: undefined }), invalid('claim_missing')],
    ['no src_h claim', signToken(key, { ...claims, src_h: 'abc' }), invalid('claim_missing')],
    ['no jti', signToken(key, { ...claims, jti: undefined }), invalid('claim_missing')],
    ['act not an object', signToken(key, { ...claims, act: 'spiffe://example.org/agents/planner' }), invalid('claim_missing')],
    ['act an array', signToken(key, { ...claims, act: [{ sub: 'spiffe://example.org/agents/planner' }] }), invalid('claim_missing')],
    ['act without sub', signToken(key, { ...claims, act: { client_id: 'planner' } }), invalid('claim_missing')],
    ['act with an empty sub', signToken(key, { ...claims, act: { sub: '' } }), invalid('claim_missing')],
    ['act with a sub not a string', signToken(key, { ...claims, act: { sub: 42 } }), invalid('claim_missing')],
    [
      'act with another claim beside sub',
      signToken(key, { ...claims, act: { sub: 'spiffe://example.org/agents/planner', iss: ISSUER } }),
      invalid('claim_missing'),
    ],
    [
      'a nested act malformed',
      signToken(key, { ...claims, act: { sub: 'spiffe://example.org/agents/planner', act: { sub: ['x'] } } }),
      invalid('claim_missing'),
    ],
    ['act null', signToken(key, { ...claims, act: null }), invalid('claim_missing')],
    ['act nested 11 deep', signToken(key, { ...claims, act: actChain(11) }), invalid('claim_missing')],
    ['ancestor_jtis not an array', signToken(key, { ...claims, ancestor_jtis: claims.jti }), invalid('claim_missing')],
    ['ancestor_jtis with a number', signToken(key, { ...claims, ancestor_jtis: [claims.jti, 7] }), invalid('claim_missing')],
    ['ancestor_jtis with an empty jti', signToken(key, { ...claims, ancestor_jtis: [''] }), invalid('claim_missing')],
    [
      'without a required scope',
      signToken(key, { ...claims, scope: 'ledger:write' }),
      { code: 'scope_missing', status: 403, error: 'insufficient_scope' },
    ],
  ]
  for (const [what, token, expected] of cases) t.same(await refusal(verifier.verify(token)), expected, what)
  t.same(
    await refusal(verifier.verify(signToken(key, { ...claims, iat: now - 300, nbf: now - 300, exp: now - 9 }))),
    'accepted',
    'expired within the tolerance',
  )
  t.same(await refusal(verifier.verify(good, { scopes: ['ledger:admin'] })), {
    code: 'scope_missing',
    status: 403,
    error: 'insufficient_scope',
  })
  const scopeError = await verifier.verify(good, { scopes: ['ledger:admin'] }).catch((error: unknown) => error)
  t.same(
    (scopeError as TokenRefusedError).details,
    { requiredScopes: ['ledger:read', 'ledger:admin'] },
    'the refusal names every scope needed',
  )
})

t.test('an unknown kid makes the verifier fetch the JWKS again, at most once per cooldown', async (t) => {
  const one = testKey('key-1')
  const two = testKey('key-2')
  const jwks = await startJwksServer(t, [one])
  const verifier = createVerifier(options(jwks.uri, { jwks: { uri: jwks.uri, cooldownMs: 400 } }))
  await verifier.verify(signToken(one, claims))
  t.equal(jwks.fetches, 1, 'fetched once, for the first token')
  jwks.keys.push(two)
  t.same(await refusal(verifier.verify(signToken(two, claims))), { code: 'key_unknown', status: 401, error: 'invalid_token' })
  t.equal(jwks.fetches, 1, 'not fetched again within the cooldown of the last fetch')
  await new Promise((resolve) => setTimeout(resolve, 450))
  const verified = await Promise.all(Array.from({ length: 5 }, () => verifier.verify(signToken(two, claims))))
  t.equal(verified.length, 5, 'the new key is found once the cooldown has passed')
  t.equal(jwks.fetches, 2, 'by one fetch for five tokens at once')
  for (let i = 0; i < 20; i++) {
    const refused = (await refusal(verifier.verify(signToken(testKey(`made-up-${i}`), claims)))) as { code: string }
    t.equal(refused.code, 'key_unknown')
  }
  t.equal(jwks.fetches, 2, 'twenty made-up kids within the cooldown fetch nothing')
  await new Promise((resolve) => setTimeout(resolve, 450))
  await refusal(verifier.verify(signToken(testKey('made-up'), claims)))
  await refusal(verifier.verify(signToken(testKey('made-up'), claims)))
  t.equal(jwks.fetches, 3, 'after the cooldown, one more')
})

t.test('a key set older than maxAgeMs is fetched again behind the answers; failing, once per cooldown', async (t) => {
  const key = testKey('key-1')
  const jwks = await startJwksServer(t, [key])
  const verifier = createVerifier(options(jwks.uri, { jwks: { uri: jwks.uri, maxAgeMs: 100, cooldownMs: 400 } }))
  const token = signToken(key, claims)
  await verifier.verify(token)
  await new Promise((resolve) => setTimeout(resolve, 150))
  await Promise.all(Array.from({ length: 10 }, () => verifier.verify(token)))
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(jwks.fetches, 2, 'stale: fetched again once, for ten tokens, none of them waiting for it')
  jwks.failing = true
  await new Promise((resolve) => setTimeout(resolve, 150))
  await Promise.all(Array.from({ length: 10 }, () => verifier.verify(token)))
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(jwks.fetches, 3, 'stale again: fetched again, and the fetch fails')
  for (let i = 0; i < 10; i++) await verifier.verify(token)
  t.equal(jwks.fetches, 3, 'the keys it has still serve, and the failing STS is not asked again within the cooldown')
  await new Promise((resolve) => setTimeout(resolve, 400))
  jwks.failing = false
  await verifier.verify(token)
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(jwks.fetches, 4, 'after the cooldown, once more')
})

t.test('an issuer whose keys cannot be fetched: 503, not a refusal of the token', async (t) => {
  const verifier = createVerifier(options('http://127.0.0.1:9/.well-known/jwks.json'))
  const error = await verifier.verify(signToken(testKey('key-1'), claims)).catch((e: unknown) => e)
  t.ok(error instanceof VerifierUnavailableError)
  t.match(error, {
    code: 'jwks_unavailable',
    status: 503,
    message: /^the issuer's keys cannot be fetched from http:\/\/127\.0\.0\.1:9\/\.well-known\/jwks\.json/,
  })
})

t.test('options are checked once, every problem at once', async (t) => {
  t.throws(() => createVerifier({ issuer: '', audience: [], sts: 'not a url', clockToleranceSeconds: -1 } as unknown as VerifierOptions), {
    name: 'TypeError',
    message:
      'createVerifier: issuer: the STS issuer, a URL, is required; audience: one name or more is required; sts: not a url is not a URL; ' +
      'clockToleranceSeconds: must be a number, at least 0; ' +
      'revocations: say how revocations are followed ({ subscribeToken, onStreamLost }), or false to accept revoked tokens',
  })
  t.throws(
    () =>
      createVerifier({
        issuer: ISSUER,
        audience: 'ledger-api',
        revocations: { subscribeToken: '', onStreamLost: {} as { refuseAfterMs: number } },
      }),
    {
      message:
        'createVerifier: revocations.subscribeToken: an admin token with revocations:subscribe, or a function giving one; ' +
        'revocations.onStreamLost: choose { refuseAfterMs: <ms> } or { acceptAndReport: (loss) => ... }',
    },
  )
})

t.test('an STS that does not answer, or a stream gone silent, counts as lost, and the stream is opened again', async (t) => {
  let streams = 0
  let answerListing = false
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname
    if (path === '/v1/revocations' && answerListing)
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ revocations: [], cursor: '7' }))
    else if (path === '/v1/revocations/stream') {
      streams++
      response.writeHead(200, { 'content-type': 'text/event-stream' }).write(': open\n\n')
    }
    // Anything else: accepted and never answered.
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    server.closeAllConnections()
    server.close()
  })
  const losses: StreamLoss[] = []
  const verifier = createVerifier({
    issuer: ISSUER,
    audience: 'ledger-api',
    sts: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    revocations: { subscribeToken: 'x', onStreamLost: { acceptAndReport: (loss) => losses.push(loss) }, idleTimeoutMs: 300 },
  })
  t.teardown(() => verifier.close())
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.match(losses[0]?.error.message, /^the STS cannot be reached: .*the STS did not answer within 300 ms/, 'an unanswered listing is a loss')
  answerListing = true
  await verifier.ready()
  t.equal(verifier.status().revocations, 'following')
  await new Promise((resolve) => setTimeout(resolve, 700))
  t.match(losses[1]?.error.message, /the revocation stream went silent/, 'a silent stream is a loss')
  t.ok(streams >= 2, `and it is opened again (${streams} times)`)
})
