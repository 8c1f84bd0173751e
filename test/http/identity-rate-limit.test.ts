import { createHash } from 'node:crypto'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { createTestCluster } from '../support/cluster.js'
import { freshPostgresDatabase, REDIS_URL, uniqueRedisPrefix } from '../support/servers.js'
import { JWT_TOKEN_TYPE, NOW, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN, type TestService } from '../support/service.js'

/**
 * The token endpoint's budget per attested identity, beside the one per address: counted in Redis
 * once the attestation verifies, so workloads behind one NAT address each have their own, and one
 * identity has one whatever addresses and instances it goes through.
 */

const subjectOf = (namespace: string) => `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/${namespace}/sa/api`

async function twoInstances(t: Test, perIdentity: number) {
  const prefix = uniqueRedisPrefix()
  const shared = {
    databaseUrl: await freshPostgresDatabase(t),
    redisKeyPrefix: prefix,
    cluster: await createTestCluster('prod', Math.floor(NOW / 1000)),
    config: { limits: { tokenRequestsPerIdentityPerMinute: perIdentity } },
  }
  const a = await startTestService(t, shared)
  const b = await startTestService(t, shared)
  await a.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  const exchange = async (sts: TestService, namespace: string, remoteAddress: string) => {
    const response = await sts.app.inject({
      method: 'POST',
      url: '/oauth2/token',
      remoteAddress,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: TOKEN_EXCHANGE,
        subject_token: await shared.cluster.serviceAccountToken({ namespace }),
        subject_token_type: JWT_TOKEN_TYPE,
      }).toString(),
    })
    return { status: response.statusCode, headers: response.headers, body: response.json() as Record<string, unknown> }
  }
  const inspector = new Redis(REDIS_URL)
  t.teardown(() => inspector.disconnect())
  const counted = (subject: string) =>
    inspector.get(`${prefix}rate-limit:identity:${createHash('sha256').update(subject).digest('base64url')}`)
  return { a, b, exchange, counted }
}

t.test('one identity across two addresses and two instances spends one budget; over it, 429 with Retry-After', async (t) => {
  const { a, b, exchange, counted } = await twoInstances(t, 2)
  t.equal((await exchange(a, 'payments', '10.0.0.1')).status, 200)
  t.equal((await exchange(b, 'payments', '10.0.0.2')).status, 200, 'from another address, through another instance')
  const refused = await exchange(a, 'payments', '10.0.0.3')
  t.equal(refused.status, 429, 'the third of the minute, from a third address: the budget was shared')
  const seconds = Number(refused.headers['retry-after'])
  t.ok(Number.isInteger(seconds) && seconds >= 1 && seconds <= 60, `Retry-After is the rest of the window (${seconds} s)`)
  t.equal(refused.headers['cache-control'], 'no-store')
  t.same(refused.body, {
    error: 'temporarily_unavailable',
    error_description: `${subjectOf('payments')} asked for more than 2 tokens this minute (limits.tokenRequestsPerIdentityPerMinute): retry in ${seconds} s`,
    error_reason: 'identity_rate_limited',
  })
  t.equal(await counted(subjectOf('payments')), '3', 'counted in Redis, under the prefix, by a digest of the subject')
})

t.test('two identities behind one address each have their own budget', async (t) => {
  const { a, b, exchange, counted } = await twoInstances(t, 2)
  const nat = '192.0.2.7'
  const statuses = [
    (await exchange(a, 'payments', nat)).status,
    (await exchange(b, 'payments', nat)).status,
    (await exchange(a, 'payments', nat)).status,
    (await exchange(a, 'search', nat)).status,
    (await exchange(b, 'search', nat)).status,
  ]
  t.same(statuses, [200, 200, 429, 200, 200], 'payments is refused its third; search, from the same address, is not')
  t.equal(await counted(subjectOf('search')), '2')
})

t.test('a request whose attestation does not verify spends no identity budget', async (t) => {
  const { a, exchange, counted } = await twoInstances(t, 1)
  const forged = await a.app.inject({
    method: 'POST',
    url: '/oauth2/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({
      grant_type: TOKEN_EXCHANGE,
      // Signed by another cluster's key: the identity it claims is not attested.
      subject_token: await (await createTestCluster('prod', Math.floor(NOW / 1000))).serviceAccountToken(),
      subject_token_type: JWT_TOKEN_TYPE,
    }).toString(),
  })
  t.equal(forged.statusCode, 400)
  t.equal(await counted(subjectOf('payments')), null, 'nothing counted for the identity it claimed')
  t.equal((await exchange(a, 'payments', '10.0.0.1')).status, 200, 'the real workload still has its whole budget')
})

t.test('0 turns the identity budget off', async (t) => {
  const { a, exchange, counted } = await twoInstances(t, 0)
  for (let i = 0; i < 3; i++) t.equal((await exchange(a, 'payments', '10.0.0.1')).status, 200)
  t.equal(await counted(subjectOf('payments')), null)
})
