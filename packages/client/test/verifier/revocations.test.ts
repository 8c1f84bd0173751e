import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { startTcpProxy, type TcpProxy } from '../../../../test/support/tcp-proxy.js'
import {
  ISSUER,
  JWT_TOKEN_TYPE,
  startTestService,
  TOKEN_EXCHANGE,
  TRUST_DOMAIN,
  type TestService,
} from '../../../../test/support/service.js'
import { uniqueRedisPrefix } from '../../../../test/support/servers.js'
import { createVerifier, TokenRefusedError, VerifierUnavailableError, type StreamLoss, type Verifier } from '../../src/index.js'
import { signToken, startJwksServer, testKey } from '../support/issuer.js'

// The verifier against the real service, on real Postgres and Redis, through a TCP proxy the test
// can cut (a dropped connection) or point at another instance (a load balancer after a restart).
// The promise under test: a token revoked by any kind is refused within 1 s of the revocation API
// answering, also when the stream was lost in between.

const WITHIN_MS = 1000

interface Setup {
  sts: TestService
  proxy: TcpProxy
  subscribeToken: string
}

async function setUp(t: Test, sts?: TestService): Promise<Setup> {
  const service = sts ?? (await startTestService(t, { config: { limits: { adminRequestsPerMinute: 0 } } }))
  const port = await listen(service)
  const proxy = await startTcpProxy('127.0.0.1', port)
  t.teardown(() => proxy.close())
  const made = await service.app.inject({
    method: 'POST',
    url: '/v1/admin-tokens',
    headers: service.admin,
    payload: { name: `verifier-${Math.random().toString(36).slice(2, 8)}`, roles: ['revocations:subscribe'] },
  })
  return { sts: service, proxy, subscribeToken: made.json().token }
}

async function listen(sts: TestService): Promise<number> {
  await sts.app.listen({ host: '127.0.0.1', port: 0 })
  return (sts.app.server.address() as AddressInfo).port
}

function verifierFor(t: Test, setup: Setup, losses: StreamLoss[] = []): Verifier {
  const verifier = createVerifier({
    issuer: ISSUER,
    audience: 'ledger-api',
    sts: setup.proxy.url('http'),
    revocations: { subscribeToken: setup.subscribeToken, onStreamLost: { acceptAndReport: (loss) => losses.push(loss) } },
    now: () => setup.sts.clock.now(),
  })
  t.teardown(() => verifier.close())
  return verifier
}

async function mint(sts: TestService, options: Parameters<TestService['cluster']['serviceAccountToken']>[0]): Promise<string> {
  const answer = await sts.exchange({
    grant_type: TOKEN_EXCHANGE,
    subject_token: await sts.cluster.serviceAccountToken(options),
    subject_token_type: JWT_TOKEN_TYPE,
    audience: 'ledger-api',
  })
  if (answer.statusCode !== 200) throw new Error(`no token: ${JSON.stringify(answer.body)}`)
  return String(answer.body.access_token)
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())
}

async function call(sts: TestService, method: 'POST' | 'DELETE', url: string, payload: object): Promise<Record<string, unknown>> {
  const response = await sts.app.inject({ method, url, headers: sts.admin, payload })
  if (response.statusCode >= 300) throw new Error(`${method} ${url}: ${response.statusCode} ${response.body}`)
  return response.json()
}

/** Verifies the token until it is refused as revoked; the time from `since` (the API's answer) and the kind that refused it. */
async function refusal(verifier: Verifier, token: string, since: number): Promise<{ afterMs: number; by: string | undefined }> {
  for (;;) {
    try {
      await verifier.verify(token)
    } catch (error) {
      if (error instanceof TokenRefusedError && error.code === 'token_revoked')
        return { afterMs: performance.now() - since, by: error.revokedBy }
      throw error
    }
    if (performance.now() - since > 5000) return { afterMs: Infinity, by: undefined }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

t.test('a token revoked by any kind is refused within 1 s of the API answering, across a stream cut each time', async (t) => {
  const setup = await setUp(t)
  const { sts, proxy } = setup
  const all = await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  const narrow = await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/granted/sa/*`,
    audiences: ['ledger-api'],
    scopes: ['ledger:read'],
    owner: 'team-payments',
  })
  const losses: StreamLoss[] = []
  const verifier = verifierFor(t, setup, losses)
  await verifier.ready()

  const kinds: Array<{
    kind: string
    identity: Parameters<TestService['cluster']['serviceAccountToken']>[0]
    revoke: (token: string) => Promise<unknown>
  }> = [
    {
      kind: 'token',
      identity: { namespace: 'tokens' },
      revoke: (token) => call(sts, 'POST', '/v1/revocations', { kind: 'token', value: claimsOf(token).jti, reason: 'pasted in a ticket' }),
    },
    {
      kind: 'subject',
      identity: { namespace: 'subjects' },
      revoke: () =>
        call(sts, 'POST', '/v1/revocations', {
          kind: 'subject',
          value: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/subjects/**`,
          reason: 'leak',
        }),
    },
    {
      kind: 'grant',
      identity: { namespace: 'granted' },
      revoke: () => call(sts, 'POST', '/v1/revocations', { kind: 'grant', value: narrow.id, reason: 'granted by mistake' }),
    },
    {
      kind: 'source',
      identity: { namespace: 'sources', node: { name: 'node-compromised' } },
      revoke: () =>
        call(sts, 'POST', '/v1/revocations', { kind: 'source', value: 'k8s:prod:node:node-compromised', reason: 'node compromised' }),
    },
    {
      // Last: every token minted before is signed by the key it revokes.
      kind: 'key',
      identity: { namespace: 'keys' },
      revoke: (token) =>
        call(sts, 'POST', `/v1/keys/${JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid}/revoke`, {
          reason: 'key leaked',
        }),
    },
  ]
  const bystander = await mint(sts, { namespace: 'bystanders' })
  for (const { kind, identity, revoke } of kinds) {
    const token = await mint(sts, identity)
    t.equal(
      (await verifier.verify(token)).subject,
      `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/${identity!.namespace}/sa/api`,
      `${kind}: accepted before`,
    )
    if (kind === 'grant') t.same(claimsOf(token).grants, [all.id, narrow.id].sort(), 'the token names its grants')
    // The stream is cut, the revocation made while the verifier cannot hear, the network back at once.
    const lossesBefore = losses.length
    proxy.cut()
    await revoke(token)
    const answered = performance.now()
    proxy.restore()
    const refused = await refusal(verifier, token, answered)
    t.ok(refused.afterMs < WITHIN_MS, `${kind}: refused ${Math.round(refused.afterMs)} ms after the API answered`)
    t.equal(refused.by, kind, `${kind}: refused by the ${kind} revocation`)
    t.ok(losses.length > lossesBefore, `${kind}: the loss of the stream was reported`)
    if (kind !== 'key')
      t.equal(
        (await verifier.verify(bystander)).subject,
        `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/bystanders/sa/api`,
        `${kind}: other tokens still pass`,
      )
  }
  t.equal(verifier.status().revocations, 'following')
})

t.test('a lift is heard too: the token passes again', async (t) => {
  const setup = await setUp(t)
  const { sts } = setup
  await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  const token = await mint(sts, {})
  const revoked = (await call(sts, 'POST', '/v1/revocations', { kind: 'source', value: 'k8s:prod', reason: 'cluster compromised' })) as {
    revocation: { id: string }
  }
  // Made before the verifier starts: it comes from the listing, not the stream.
  const verifier = verifierFor(t, setup)
  await verifier.ready()
  t.equal((await refusal(verifier, token, performance.now())).by, 'source')
  await call(sts, 'DELETE', `/v1/revocations/${revoked.revocation.id}`, { reason: 'false alarm' })
  const lifted = performance.now()
  for (;;) {
    const accepted = await verifier.verify(token).then(
      () => true,
      () => false,
    )
    if (accepted) break
    if (performance.now() - lifted > 5000) break
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  t.ok(performance.now() - lifted < WITHIN_MS, 'accepted again within a second of the lift')
})

t.test('the instance it follows shuts down: it resumes on another from its cursor, and misses nothing', async (t) => {
  const redisKeyPrefix = uniqueRedisPrefix()
  const first = await startTestService(t, { redisKeyPrefix, config: { limits: { adminRequestsPerMinute: 0 } } })
  const setup = await setUp(t, first)
  const second = await startTestService(t, {
    databaseUrl: first.databaseUrl!,
    redisKeyPrefix,
    cluster: first.cluster,
    config: { limits: { adminRequestsPerMinute: 0 } },
  })
  const secondPort = await listen(second)
  await first.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  const verifier = verifierFor(t, setup)
  await verifier.ready()
  const token = await mint(first, { namespace: 'restarted' })
  t.ok(await verifier.verify(token))

  // The first instance stops (SIGTERM: its streams end with `shutdown`); the load balancer moves on.
  setup.proxy.retarget(secondPort)
  first.services.drain.begin()
  await call(second, 'POST', '/v1/revocations', {
    kind: 'subject',
    value: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/restarted/sa/api`,
    reason: 'leak',
  })
  const refused = await refusal(verifier, token, performance.now())
  t.ok(refused.afterMs < WITHIN_MS, `refused ${Math.round(refused.afterMs)} ms after the other instance answered`)
  t.equal(refused.by, 'subject')
})

t.test('onStreamLost refuseAfterMs: accepted while the loss is short, refused (503) past it, accepted again once back', async (t) => {
  const setup = await setUp(t)
  const { sts, proxy } = setup
  await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  const token = await mint(sts, {})
  const verifier = createVerifier({
    issuer: ISSUER,
    audience: 'ledger-api',
    sts: proxy.url('http'),
    revocations: { subscribeToken: setup.subscribeToken, onStreamLost: { refuseAfterMs: 400 } },
    now: () => sts.clock.now(),
  })
  t.teardown(() => verifier.close())
  t.ok(await verifier.verify(token), 'the first verify waits for the revocations, then accepts')
  proxy.cut()
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(verifier.status().revocations, 'lost')
  t.ok(await verifier.verify(token), 'accepted within the allowance')
  await new Promise((resolve) => setTimeout(resolve, 400))
  const error = await verifier.verify(token).catch((e: unknown) => e)
  t.ok(error instanceof VerifierUnavailableError, 'refused past it')
  t.match(error, { code: 'revocations_unavailable', status: 503, message: /^the revocation stream has been lost for longer than 400 ms: / })
  proxy.restore()
  const back = performance.now()
  while (verifier.status().revocations !== 'following' && performance.now() - back < 5000)
    await new Promise((resolve) => setTimeout(resolve, 10))
  t.ok(await verifier.verify(token), 'accepted once the stream is back')
})

t.test('a verifier that cannot reach the STS at all: refused once the allowance has run out, or accepted and reported', async (t) => {
  const key = testKey('key-1')
  const jwks = await startJwksServer(t, [key])
  const now = 1_795_000_000
  const subject = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`
  const token = signToken(key, {
    iss: ISSUER,
    sub: subject,
    aud: 'ledger-api',
    exp: now + 300,
    iat: now,
    nbf: now,
    jti: '0196b2a0-0000-7000-8000-000000000001',
    client_id: subject,
    grants: [],
    src_h: [],
  })
  const unreachable = 'http://127.0.0.1:9'
  const common = { issuer: ISSUER, audience: 'ledger-api', sts: unreachable, jwks: { uri: jwks.uri }, now: () => now * 1000 }
  const refusing = createVerifier({ ...common, revocations: { subscribeToken: 'sts_admin_x', onStreamLost: { refuseAfterMs: 300 } } })
  t.teardown(() => refusing.close())
  const losses: StreamLoss[] = []
  const accepting = createVerifier({
    ...common,
    revocations: { subscribeToken: 'sts_admin_x', onStreamLost: { acceptAndReport: (loss) => losses.push(loss) } },
  })
  t.teardown(() => accepting.close())

  const started = performance.now()
  const refused = await refusing.verify(token).catch((e: unknown) => e)
  t.match(refused, { name: 'VerifierUnavailableError', code: 'revocations_unavailable' })
  t.ok(performance.now() - started >= 250, 'it waited for the revocations until the allowance ran out')
  t.equal((await accepting.verify(token)).subject, subject, 'accepted, once the first attempt has failed')
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(losses.length, 1, 'the loss is reported once, however many reconnections fail')
  t.match(losses[0]?.error.message, /^the STS cannot be reached: fetch failed/)
  t.match(refusing.status(), { revocations: 'lost', held: 0 })
})
