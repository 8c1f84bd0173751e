import t from 'tap'
import { createTestCluster } from '../support/cluster.js'
import { eventually } from '../support/eventually.js'
import { freshPostgresDatabase, uniqueRedisPrefix } from '../support/servers.js'
import { JWT_TOKEN_TYPE, NOW, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN } from '../support/service.js'

/** Two instances of the service on one Postgres and one Redis: what one revokes, the other enforces. */
t.test('a revocation made through one instance is enforced by the other within milliseconds', async (t) => {
  const shared = {
    databaseUrl: await freshPostgresDatabase(t),
    redisKeyPrefix: uniqueRedisPrefix(),
    cluster: await createTestCluster('prod', Math.floor(NOW / 1000)),
  }
  const a = await startTestService(t, shared)
  const b = await startTestService(t, shared)
  await a.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  const request = {
    grant_type: TOKEN_EXCHANGE,
    subject_token: await shared.cluster.serviceAccountToken(),
    subject_token_type: JWT_TOKEN_TYPE,
  }
  // The grant reaches b through the grant change feed, a few milliseconds after a answered.
  const issued = await eventually(t, () => b.exchange(request), { until: (answer) => answer.statusCode === 200, what: 'b issuing' })
  t.equal(issued.statusCode, 200, 'instance b issues before the revocation')

  const revoked = await a.app.inject({
    method: 'POST',
    url: '/v1/revocations',
    headers: a.admin,
    payload: { kind: 'subject', value: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/**`, reason: 'credentials leaked (INC-1234)' },
  })
  t.equal(revoked.statusCode, 201)
  t.equal(revoked.json().liveTokensCutOff, 1, 'the answer counts the live token b issued')

  const started = performance.now()
  let status = 200
  let body: Record<string, unknown> = {}
  while (status === 200 && performance.now() - started < 2000) {
    ;({ statusCode: status, body } = await b.exchange(request))
  }
  const elapsed = performance.now() - started
  t.equal(status, 400, 'instance b refuses')
  t.same(body, {
    error: 'invalid_grant',
    error_description: `the identity spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/** is revoked`,
    error_reason: 'revoked',
  })
  t.ok(elapsed < 500, `and quickly (${elapsed.toFixed(1)} ms after the API answered)`)
  t.equal((await a.exchange(request)).statusCode, 400, 'instance a refuses too')
  const introspected = await b.app.inject({
    method: 'POST',
    url: '/oauth2/introspect',
    headers: { ...b.admin, 'content-type': 'application/x-www-form-urlencoded' },
    payload: `token=${issued.body.access_token}`,
  })
  t.same(introspected.json(), { active: false }, 'instance b introspects the token it issued before as inactive')

  const id = revoked.json().revocation.id
  const lifted = await b.app.inject({
    method: 'DELETE',
    url: `/v1/revocations/${id}`,
    headers: b.admin,
    payload: { reason: 'keys rotated, all clear' },
  })
  t.equal(lifted.statusCode, 200)
  const after = await eventually(t, async () => (await a.exchange(request)).statusCode, { until: (status) => status === 200 })
  t.equal(after, 200, 'a lift made through b reaches a')
})
