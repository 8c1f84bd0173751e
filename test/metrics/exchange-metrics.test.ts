import t from 'tap'
import { createTestCluster } from '../support/cluster.js'
import { eventually } from '../support/eventually.js'
import { exposedNames, parseScrape, samplesOf, valueOf, type Sample } from '../support/scrape.js'
import { JWT_TOKEN_TYPE, NOW, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN, type TestService } from '../support/service.js'
import { openSse } from '../support/sse.js'

/**
 * GET /metrics after real exchanges on real Postgres and Redis: exact counts and label sets for an
 * issued and a refused token, every phase timed, and nothing of the workload's identity in the text.
 */

async function scrape(sts: TestService): Promise<{ text: string; samples: Sample[] }> {
  const response = await sts.app.inject({ method: 'GET', url: '/metrics' })
  if (response.statusCode !== 200) throw new Error(`GET /metrics answered ${response.statusCode}: ${response.body}`)
  return { text: response.body, samples: parseScrape(response.body) }
}

const request = async (sts: TestService, extra: Record<string, string> = {}) =>
  sts.exchange({
    grant_type: TOKEN_EXCHANGE,
    subject_token: await sts.cluster.serviceAccountToken(),
    subject_token_type: JWT_TOKEN_TYPE,
    ...extra,
  })

t.test('an issued and a refused token: exact counts, labels, phases; no subject anywhere', async (t) => {
  const sts = await startTestService(t)
  const grant = await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`,
    audiences: ['ledger-api'],
    owner: 'team-payments',
  })
  t.equal((await sts.app.inject({ method: 'GET', url: `/v1/grants/${String(grant.id)}`, headers: sts.admin })).statusCode, 200)
  t.equal((await request(sts)).statusCode, 200)
  t.equal((await request(sts, { audience: 'billing' })).statusCode, 400)

  const response = await sts.app.inject({ method: 'GET', url: '/metrics' })
  t.equal(response.statusCode, 200)
  t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const { text, samples } = await scrape(sts)
  t.same(samplesOf(samples, 'sts_token_exchanges_total'), [
    {
      labels: { outcome: 'issued', error: 'none', reason: 'none', attestor_kind: 'kubernetes', attestor: 'prod' },
      value: 1,
    },
    {
      labels: {
        outcome: 'refused',
        error: 'invalid_target',
        reason: 'audience_not_granted',
        attestor_kind: 'kubernetes',
        attestor: 'prod',
      },
      value: 1,
    },
  ])
  t.equal(valueOf(samples, 'sts_token_exchange_duration_seconds_count', { outcome: 'issued' }), 1)
  t.equal(valueOf(samples, 'sts_token_exchange_duration_seconds_count', { outcome: 'refused' }), 1)
  const phases = Object.fromEntries(
    samplesOf(samples, 'sts_token_exchange_phase_duration_seconds_count').map(({ labels, value }) => [labels.phase, value]),
  )
  // The refusal ends in the grants phase: attest and grants are timed twice, the rest once, and
  // registration (for instance documents only) not at all.
  t.same(phases, { attest: 2, grants: 2, revocation_check: 1, ledger_commit: 1, sign: 1 })
  t.equal(valueOf(samples, 'sts_ledger_batch_entries_count'), 1)
  t.equal(valueOf(samples, 'sts_ledger_batch_entries_sum'), 1)
  t.equal(valueOf(samples, 'sts_ledger_commit_duration_seconds_count', { result: 'ok' }), 1)
  t.same(
    samplesOf(samples, 'sts_admin_requests_total'),
    [
      { labels: { method: 'POST', route: '/v1/grants', status: '201' }, value: 1 },
      { labels: { method: 'GET', route: '/v1/grants/:id', status: '200' }, value: 1 },
    ],
    'by route pattern: no series per grant id',
  )

  t.notOk(text.includes('spiffe://'), 'no identity in the scrape')
  t.notOk(text.includes('payments'), 'nor any part of one')

  t.same(
    samplesOf(samples, 'sts_redis_connection_up').sort((a, b) => a.labels.purpose.localeCompare(b.labels.purpose)),
    [
      'grant_feed',
      'grants',
      'keys',
      'keys_feed',
      'rate_limits',
      'reload_feed',
      'reloads',
      'replay',
      'restore_guard',
      'revocation_feed',
      'revocations',
    ].map((purpose) => ({
      labels: { purpose },
      value: 1,
    })),
    'every Redis connection is up',
  )
  for (const name of ['sts_revocation_state_age_seconds', 'sts_grant_state_age_seconds']) {
    const age = valueOf(samples, name)
    t.ok(age !== undefined && age >= 0 && age < 5, `${name} is within the staleness bound (${age})`)
  }
  t.ok((valueOf(samples, 'sts_postgres_pool_connections') ?? 0) >= 1, 'the pool holds connections')
  t.equal(valueOf(samples, 'sts_postgres_pool_waiting_clients'), 0)
  t.equal(valueOf(samples, 'sts_revocation_streams_open'), 0)
  for (const name of ['process_cpu_user_seconds_total', 'nodejs_eventloop_lag_seconds', 'process_resident_memory_bytes'])
    t.ok(exposedNames(text).has(name), `${name}: the process metrics`)
  t.equal(valueOf(samples, 'sts_token_exchanges_total', { outcome: 'issued' }), undefined, 'label sets are whole, never partial')
})

t.test('a request refused before an attestor is chosen counts as attestor unknown', async (t) => {
  const sts = await startTestService(t)
  t.equal(
    (await sts.exchange({ grant_type: TOKEN_EXCHANGE, subject_token: 'not-a-jwt', subject_token_type: JWT_TOKEN_TYPE })).statusCode,
    400,
  )
  t.same(samplesOf((await scrape(sts)).samples, 'sts_token_exchanges_total'), [
    {
      labels: {
        outcome: 'refused',
        error: 'invalid_grant',
        reason: 'attestation_malformed',
        attestor_kind: 'unknown',
        attestor: 'unknown',
      },
      value: 1,
    },
  ])
})

t.test('single-use claims count by result', async (t) => {
  const cluster = await createTestCluster('prod', NOW / 1000)
  const singleUse = await startTestService(t, {
    cluster,
    config: { attestors: [{ kind: 'kubernetes', name: cluster.name, issuer: cluster.issuer, jwks: cluster.jwks, singleUse: true }] },
  })
  await singleUse.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  const attestation = await singleUse.cluster.serviceAccountToken()
  const once = { grant_type: TOKEN_EXCHANGE, subject_token: attestation, subject_token_type: JWT_TOKEN_TYPE }
  t.equal((await singleUse.exchange(once)).statusCode, 200)
  t.equal((await singleUse.exchange(once)).statusCode, 400)
  t.same(samplesOf((await scrape(singleUse)).samples, 'sts_replay_claims_total'), [
    { labels: { result: 'accepted' }, value: 1 },
    { labels: { result: 'replayed' }, value: 1 },
  ])
})

t.test('JWKS fetches, failures and key set age per attestor; a JWKS outage counts as unavailable', async (t) => {
  let reachable = false
  const cluster = await createTestCluster('prod', NOW / 1000)
  const sts = await startTestService(t, {
    cluster,
    fetchJwks: async () => {
      if (!reachable) throw new Error('connection refused')
      return cluster.jwks
    },
    config: { attestors: [{ kind: 'kubernetes', name: 'prod', issuer: cluster.issuer, jwksUri: 'https://cluster.test.example/jwks' }] },
  })
  await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  t.equal((await request(sts)).statusCode, 503)
  let { samples } = await scrape(sts)
  t.equal(valueOf(samples, 'sts_jwks_fetches_total', { attestor: 'prod' }), 1)
  t.equal(valueOf(samples, 'sts_jwks_fetch_failures_total', { attestor: 'prod' }), 1)
  t.same(samplesOf(samples, 'sts_jwks_key_set_age_seconds'), [], 'no key set yet, no age')
  t.same(samplesOf(samples, 'sts_token_exchanges_total'), [
    {
      labels: {
        outcome: 'unavailable',
        error: 'temporarily_unavailable',
        reason: 'jwks_unavailable',
        attestor_kind: 'kubernetes',
        attestor: 'prod',
      },
      value: 1,
    },
  ])

  reachable = true
  sts.clock.advance(60_000)
  t.equal((await request(sts)).statusCode, 200)
  sts.clock.advance(42_000)
  ;({ samples } = await scrape(sts))
  t.equal(valueOf(samples, 'sts_jwks_fetches_total', { attestor: 'prod' }), 2)
  t.equal(valueOf(samples, 'sts_jwks_fetch_failures_total', { attestor: 'prod' }), 1)
  t.same(samplesOf(samples, 'sts_jwks_key_set_age_seconds'), [{ labels: { attestor: 'prod' }, value: 42 }])
})

t.test('an open revocation stream is counted while it is open', async (t) => {
  const sts = await startTestService(t)
  const address = await sts.app.listen({ host: '127.0.0.1', port: 0 })
  const stream = await openSse(`${address}/v1/revocations/stream`, sts.admin)
  t.equal(stream.status, 200)
  t.equal(valueOf((await scrape(sts)).samples, 'sts_revocation_streams_open'), 1)
  stream.close()
  await eventually(t, async () => valueOf((await scrape(sts)).samples, 'sts_revocation_streams_open'), {
    until: (open) => open === 0,
    what: 'the stream is no longer counted',
  })
})

t.test('metrics.enabled: false serves no /metrics, and exchanges work as before', async (t) => {
  const sts = await startTestService(t, { config: { metrics: { enabled: false } } })
  t.equal((await sts.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404)
  await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  t.equal((await request(sts)).statusCode, 200)
})

t.test('with metrics.port, /metrics is not on the main port', async (t) => {
  const sts = await startTestService(t, { config: { metrics: { port: 9464 } } })
  t.equal((await sts.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 404)
  t.ok(sts.services.scrape, 'the scrape is still there, for the port of its own (src/server-main.ts listens)')
})
