import t from 'tap'
import { createTestCluster } from '../support/cluster.js'
import { eventually } from '../support/eventually.js'
import { freshPostgresDatabase, uniqueRedisPrefix } from '../support/servers.js'
import { JWT_TOKEN_TYPE, NOW, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN } from '../support/service.js'

/**
 * Two instances of the service on one Postgres and one Redis: a grant created, replaced or disabled
 * through one is what the other decides by. The periodic catch-up is set to an hour, so what arrives
 * came through the change feed.
 */
t.test('grant changes made through the admin API of A decide exchanges on B', async (t) => {
  const shared = {
    databaseUrl: await freshPostgresDatabase(t),
    redisKeyPrefix: uniqueRedisPrefix(),
    cluster: await createTestCluster('prod', Math.floor(NOW / 1000)),
    config: { grants: { catchUpIntervalMs: 3_600_000, maxStalenessMs: 7_200_000 } },
  }
  const a = await startTestService(t, shared)
  const b = await startTestService(t, shared)
  const request = {
    grant_type: TOKEN_EXCHANGE,
    subject_token: await shared.cluster.serviceAccountToken(),
    subject_token_type: JWT_TOKEN_TYPE,
  }
  const outcome = async () => {
    const { statusCode, body } = await b.exchange(request)
    return statusCode === 200 ? `${String(body.scope)}` : String(body.error_reason)
  }
  t.equal(await outcome(), 'not_granted', 'nothing granted at first')

  const created = await a.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`,
    audiences: ['ledger-api'],
    scopes: ['ledger:read'],
    owner: 'team-payments',
  })
  t.equal(await eventually(t, outcome, { until: (o) => o === 'ledger:read' }), 'ledger:read', 'created on A, granted on B')

  const { id, version, createdAt: _c, updatedAt: _u, ...body } = created
  const replaced = await a.app.inject({
    method: 'PUT',
    url: `/v1/grants/${String(id)}`,
    headers: { ...a.admin, 'if-match': `"${String(version)}"` },
    payload: { ...body, scopes: ['ledger:read', 'ledger:write'] },
  })
  t.equal(replaced.statusCode, 200)
  t.equal(await eventually(t, outcome, { until: (o) => o === 'ledger:read ledger:write' }), 'ledger:read ledger:write', 'replaced on A')

  const disabled = await a.app.inject({ method: 'DELETE', url: `/v1/grants/${String(id)}`, headers: a.admin })
  t.equal(disabled.statusCode, 200)
  t.equal(await eventually(t, outcome, { until: (o) => o === 'not_granted' }), 'not_granted', 'disabled on A, refused on B')
  t.equal((await a.exchange(request)).body.error_reason, 'not_granted', 'and on A, at once')
})
