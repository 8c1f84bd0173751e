import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import t, { type Test } from 'tap'
import { createTestCluster } from '../support/cluster.js'
import { eventually } from '../support/eventually.js'
import { freshPostgresDatabase, uniqueRedisPrefix } from '../support/servers.js'
import { ISSUER, JWT_TOKEN_TYPE, NOW, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN, type TestService } from '../support/service.js'

/**
 * Two instances on one Postgres and one Redis, and a resource server verifying their tokens with
 * jose's createRemoteJWKSet the strictest way a JWKS cache allows: it fetches from either instance,
 * keeps what it fetched for the whole max-age (in the services' time), and never fetches early, not
 * even for a kid it does not know. Through a manual rotation and a scheduled one it must never meet a
 * token it cannot verify. An emergency revocation then takes the key out of both JWKS and fails
 * its tokens on both instances' introspection within a second.
 */

const MAX_AGE_MS = 300_000

async function startPair(t: Test, config: Record<string, unknown> = {}): Promise<[TestService, TestService]> {
  const shared = {
    databaseUrl: await freshPostgresDatabase(t),
    redisKeyPrefix: uniqueRedisPrefix(),
    cluster: await createTestCluster('prod', Math.floor(NOW / 1000)),
    config,
  }
  const a = await startTestService(t, shared)
  const b = await startTestService(t, shared)
  for (const sts of [a, b]) await sts.app.listen({ host: '127.0.0.1', port: 0 })
  await a.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  return [a, b]
}

function urlOf(sts: TestService): string {
  const address = sts.app.server.address()
  if (address === null || typeof address === 'string') throw new Error('not listening')
  return `http://127.0.0.1:${address.port}`
}

async function tokenFrom(t: Test, sts: TestService): Promise<string> {
  const request = async () =>
    sts.exchange({
      grant_type: TOKEN_EXCHANGE,
      subject_token: await sts.cluster.serviceAccountToken({ issuedAt: Math.floor(sts.clock.now() / 1000) }),
      subject_token_type: JWT_TOKEN_TYPE,
    })
  // The grant reaches the second instance through the grant feed, milliseconds after the first answered.
  const { statusCode, body } = await eventually(t, request, { until: (answer) => answer.statusCode === 200, what: 'a token' })
  if (statusCode !== 200) throw new Error(`no token: ${JSON.stringify(body)}`)
  return String(body.access_token)
}

/** A verifier that caches a JWKS for exactly max-age of the services' time and never refetches early. */
class StrictVerifier {
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined
  private fetchedAt = Number.NEGATIVE_INFINITY
  fetches = 0

  constructor(private readonly sources: TestService[]) {}

  async verify(token: string, now: number) {
    if (this.jwks === undefined || now - this.fetchedAt >= MAX_AGE_MS) {
      const from = this.sources[this.fetches++ % this.sources.length]!
      this.jwks = createRemoteJWKSet(new URL(`${urlOf(from)}/.well-known/jwks.json`), { cacheMaxAge: Infinity, cooldownDuration: Infinity })
      await this.jwks.reload()
      this.fetchedAt = now
    }
    return jwtVerify(token, this.jwks, { issuer: ISSUER, typ: 'at+jwt', currentDate: new Date(now) })
  }
}

t.test('through a manual and a scheduled rotation, no token is ever one a cached JWKS cannot verify', async (t) => {
  // A rotation every 0.02 days (28.8 min): two scheduled ones come within the test's 73 minutes.
  const [a, b] = await startPair(t, { keys: { rotateEveryDays: 0.02 } })
  const verifier = new StrictVerifier([a, b])
  const kids = new Set<string>()
  let verified = 0
  const failures: string[] = []
  const step = 20_000
  for (let elapsed = 0; elapsed <= 4_400_000; elapsed += step) {
    if (elapsed > 0) for (const sts of [a, b]) sts.clock.advance(step)
    if (elapsed === 60_000) {
      const rotated = await b.app.inject({ method: 'POST', url: '/v1/keys/rotate', headers: b.admin })
      t.equal(rotated.statusCode, 201, 'rotated by hand through b')
    }
    // The upkeep, as each instance's timer runs it: whichever comes first does the step.
    await (elapsed % 40_000 === 0 ? a : b).services.keyService.maintain()
    for (const sts of [a, b]) {
      const token = await tokenFrom(t, sts)
      kids.add(String(decodeProtectedHeader(token).kid))
      try {
        await verifier.verify(token, sts.clock.now())
        verified++
      } catch (error) {
        failures.push(`${elapsed / 1000} s: ${(error as Error).message}`)
      }
    }
  }
  t.same(failures, [], 'every token verified')
  t.equal(kids.size, 4, 'signed with the first key, the manual rotation and two scheduled ones')
  t.ok(verified >= 440, `${verified} tokens verified, JWKS fetched ${verifier.fetches} times`)
  const keys = (await a.app.inject({ method: 'GET', url: '/v1/keys', headers: a.admin })).json().keys as { state: string }[]
  t.same(
    keys.map((key) => key.state),
    ['removed', 'retired', 'retired', 'current'],
    'the first key was unpublished once its tokens had expired',
  )
})

t.test('an emergency revocation leaves both JWKS and fails its tokens on both instances within a second', async (t) => {
  const [a, b] = await startPair(t)
  const [fromA, fromB] = [await tokenFrom(t, a), await tokenFrom(t, b)]
  const kid = String(decodeProtectedHeader(fromA).kid)
  t.equal(decodeProtectedHeader(fromB).kid, kid, 'both sign with the same key')
  const introspect = async (sts: TestService, token: string) =>
    (
      await sts.app.inject({
        method: 'POST',
        url: '/oauth2/introspect',
        headers: { ...sts.admin, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ token }).toString(),
      })
    ).json().active as boolean
  t.same([await introspect(a, fromB), await introspect(b, fromA)], [true, true], 'active before')

  const started = performance.now()
  const revoked = await a.app.inject({
    method: 'POST',
    url: `/v1/keys/${kid}/revoke`,
    headers: a.admin,
    payload: { reason: 'key material exposed (INC-1234)' },
  })
  t.equal(revoked.statusCode, 201)
  const body = revoked.json()
  t.match(body, { key: { kid, state: 'revoked', published: false, revokedBy: 'bootstrap' }, alreadyRevoked: false })
  t.match(body.revocation, { revocation: { kind: 'key', value: kid }, liveTokensCutOff: 2, alreadyRevoked: false })
  const replacement = body.replacement.kid as string
  t.match(body.replacement, { state: 'current' })

  const gone = async () => {
    const sets = await Promise.all(
      [a, b].map(async (sts) => (await (await fetch(`${urlOf(sts)}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }),
    )
    const introspected = await Promise.all([introspect(a, fromA), introspect(a, fromB), introspect(b, fromA), introspect(b, fromB)])
    return sets.every((set) => !set.keys.some((key) => key.kid === kid)) && introspected.every((active) => !active)
  }
  t.ok(await eventually(t, gone, { timeoutMs: 1000, what: 'the key gone from both JWKS and its tokens inactive on both' }))
  t.ok(performance.now() - started < 1000, `within a second of the request (${(performance.now() - started).toFixed(0)} ms)`)

  for (const sts of [a, b]) {
    const token = await tokenFrom(t, sts)
    t.equal(decodeProtectedHeader(token).kid, replacement, 'new tokens are signed with the replacement')
    t.equal(await introspect(sts, token), true)
  }
  const again = await b.app.inject({ method: 'POST', url: `/v1/keys/${kid}/revoke`, headers: b.admin, payload: { reason: 'again' } })
  t.same([again.statusCode, again.json().alreadyRevoked, again.json().key.revokeReason], [200, true, 'key material exposed (INC-1234)'])
  const unknown = await b.app.inject({ method: 'POST', url: '/v1/keys/no-such-kid/revoke', headers: b.admin, payload: { reason: 'x' } })
  t.same([unknown.statusCode, unknown.json().reason], [404, 'key_not_found'])
  const listed = await b.app.inject({ method: 'GET', url: '/v1/revocations?kind=key', headers: b.admin })
  t.same(
    (listed.json().revocations as { value: string; reason: string }[]).map((r) => [r.value, r.reason]),
    [[kid, 'key material exposed (INC-1234)']],
    'on the revocation list, and so on the stream verifiers follow',
  )
  const revocationId = (listed.json().revocations as { id: string }[])[0]!.id
  const lift = await b.app.inject({
    method: 'DELETE',
    url: `/v1/revocations/${revocationId}`,
    headers: b.admin,
    payload: { reason: 'trying to undo a key revocation' },
  })
  t.same([lift.statusCode, lift.json().reason], [409, 'key_revocation_permanent'], 'a key revocation cannot be lifted')
  t.equal((await b.app.inject({ method: 'GET', url: '/v1/revocations?kind=key', headers: b.admin })).json().revocations.length, 1)
})
