import t, { type Test } from 'tap'
import { createFakeCluster, type FakeCluster } from '../support/cluster.js'
import { eventually } from '../support/eventually.js'
import { startOwnSentinel, type OwnSentinel } from '../support/redis-sentinel.js'
import { freshPostgresDatabase, uniqueRedisPrefix } from '../support/servers.js'
import { JWT_TOKEN_TYPE, NOW, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN, type TestService } from '../support/service.js'

/**
 * Two instances on one Postgres and on Redis through Sentinel (a primary, a replica, three Sentinels of
 * the test's own), exchanging single-use attestations without pause while the primary is failed over,
 * first by SENTINEL FAILOVER, then by killing it. What must hold throughout: a revoked identity is never
 * issued a token (revoked before, or during the gap), an attestation is accepted once at most, every
 * refusal is a 400 or a 503 (fail closed while the revocation state is unknown), and both instances
 * issue again once the Sentinels have promoted a replica.
 */

type Outcome = { namespace: string; token: string; after: Set<string>; statuses: number[]; bodies: Record<string, unknown>[] }
type Exchange = TestService['exchange']

const request = (token: string) => ({ grant_type: TOKEN_EXCHANGE, subject_token: token, subject_token_type: JWT_TOKEN_TYPE })

t.test(
  'through Sentinel, the primary failed over under load: nothing revoked is issued, nothing accepted twice, issuing recovers',
  async (t) => {
    const sentinel = await startOwnSentinel(t)
    const cluster = await createFakeCluster({ name: 'prod', ids: 'unique', now: () => Math.floor(NOW / 1000) })
    const shared = {
      databaseUrl: await freshPostgresDatabase(t),
      redisKeyPrefix: uniqueRedisPrefix(),
      redisEndpoint: sentinel.endpoint,
      cluster,
      config: {
        redis: { commandTimeoutMs: 500, heartbeatMs: 200, maxStalenessMs: 2000 },
        // Thousands of requests from one address and one identity: this test is about failover, not budgets.
        limits: { tokenRequestsPerMinute: 1_000_000, tokenRequestsPerIdentityPerMinute: 0 },
        attestors: [{ kind: 'kubernetes', name: cluster.name, issuer: cluster.issuer, jwks: cluster.jwks, singleUse: true }],
      },
    }
    const a = await startTestService(t, shared)
    const b = await startTestService(t, shared)
    await a.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
    await revoke(t, a, 'payments')
    await eventually(t, async () => (await b.exchange(request(await token(cluster, 'shipping')))).statusCode, {
      until: (status) => status === 200,
      what: 'b issues',
    })

    const outcomes: Outcome[] = []
    const marks = new Set<string>(['load'])
    let running = true
    const load = (async () => {
      for (let i = 0; running; i++) {
        const namespace = ['payments', 'shipping', 'billing'][i % 3]
        const attestation = await token(cluster, namespace)
        const after = new Set(marks)
        // The same attestation to both instances at once: one of them at most may accept it.
        const answers = await Promise.all([a.exchange, b.exchange].map((exchange: Exchange) => exchange(request(attestation))))
        outcomes.push({
          namespace,
          token: attestation,
          after,
          statuses: answers.map((answer) => answer.statusCode),
          bodies: answers.map((answer) => answer.body),
        })
        // Steady load, not all of the machine: on two busy cores an unpaced loop starved the Sentinels
        // and the Redis being promoted, and the failover itself took longer than the test waits.
        await new Promise((resolve) => setTimeout(resolve, 2))
      }
    })()
    const issuedSince = (mark: string) => (instance: number) =>
      outcomes.some((o) => o.after.has(mark) && o.namespace === 'shipping' && o.statuses[instance] === 200)
    const bothIssueSince = async (mark: string) =>
      eventually(t, () => issuedSince(mark)(0) && issuedSince(mark)(1), {
        timeoutMs: 20_000,
        intervalMs: 50,
        what: `both issue after ${mark}`,
      })

    await bothIssueSince('load')
    const failovers: [string, (sentinel: OwnSentinel) => Promise<unknown>][] = [
      ['SENTINEL FAILOVER', (s) => s.failover()],
      ['the primary killed', async (s) => s.promotedAfter(await s.killPrimary())],
    ]
    for (const [name, failover] of failovers) {
      await sentinel.replicaInSync()
      marks.add(`${name}: started`)
      const promoted = failover(sentinel)
      // Revoked during the gap: the API answers once Redis has it (503 until then), and from that answer on nobody issues.
      const billing = await revoke(t, b, 'billing', name)
      marks.add(`${name}: billing revoked`)
      t.comment(`${name}: the revocation during the gap was answered 503 ${billing.unavailable} times first`)
      await promoted
      marks.add(`${name}: promoted`)
      t.ok(await bothIssueSince(`${name}: promoted`), `${name}: both instances issue again once a replica is promoted`)
      marks.add(`${name}: billing lifting`)
      await lift(t, a, billing.id)
      marks.add(`${name}: billing lifted`)
      await bothIssueSince(`${name}: billing lifted`)
    }
    running = false
    await load

    const during = outcomes.filter((o) => [...o.after].some((mark) => mark.endsWith(': started')))
    const statuses = outcomes.flatMap((o) => o.statuses)
    t.ok(during.length > 20, `exchanges went on during the failovers (${outcomes.length} in all, ${during.length} from the first failover)`)
    t.same(
      outcomes.filter((o) => o.namespace === 'payments' && o.statuses.includes(200)),
      [],
      'the identity revoked before was never issued a token',
    )
    const billingRevoked = (o: Outcome) =>
      failovers.some(([name]) => o.after.has(`${name}: billing revoked`) && !o.after.has(`${name}: billing lifting`))
    t.same(
      outcomes.filter((o) => o.namespace === 'billing' && billingRevoked(o) && o.statuses.includes(200)),
      [],
      'the identity revoked during the gap was never issued a token from the moment the API answered until the lift',
    )
    t.same(
      outcomes.filter((o) => o.statuses.filter((status) => status === 200).length > 1),
      [],
      'no attestation was accepted by both instances',
    )
    t.same(
      outcomes.flatMap((o) => o.bodies.filter((_, i) => o.statuses[i] !== 200)).filter((body) => !refusal(body)),
      [],
      'every refusal is a revocation, a replay or a 503 temporarily_unavailable: nothing else',
    )
    t.same(
      [...new Set(statuses)].filter((status) => ![200, 400, 503].includes(status)),
      [],
      `only 200, 400 and 503 (${statuses.filter((s) => s === 503).length} of ${statuses.length} answers were 503)`,
    )

    const accepted = outcomes.filter((o) => o.statuses.includes(200))
    // A hundred at a time: all at once would pass overload.maxRequestsInFlight, and be shed rather than refused.
    const replays: Awaited<ReturnType<Exchange>>[] = []
    for (let i = 0; i < accepted.length; i += 100) {
      replays.push(...(await Promise.all(accepted.slice(i, i + 100).map((o) => a.exchange(request(o.token))))))
    }
    t.same(
      replays.filter((answer) => answer.body.error_reason !== 'replayed'),
      [],
      `each of the ${accepted.length} attestations accepted, presented again after the failovers, is a replay`,
    )
  },
)

async function token(cluster: FakeCluster, namespace: string): Promise<string> {
  return cluster.serviceAccountToken({ namespace })
}

const REVOKED = (namespace: string) => `the identity spiffe://${TRUST_DOMAIN}/k8s/prod/ns/${namespace}/** is revoked`

function refusal(body: Record<string, unknown>): boolean {
  if (body.error === 'temporarily_unavailable') return typeof body.error_reason === 'string'
  if (body.error_reason === 'replayed') return true
  return (
    body.error === 'invalid_grant' &&
    body.error_reason === 'revoked' &&
    [REVOKED('payments'), REVOKED('billing')].includes(String(body.error_description))
  )
}

/** Revokes the namespace, retrying the 503s of a gap; says how many there were. */
async function revoke(t: Test, sts: TestService, namespace: string, why = 'test') {
  let unavailable = 0
  const answer = await eventually(
    t,
    async () => {
      const response = await sts.app.inject({
        method: 'POST',
        url: '/v1/revocations',
        headers: sts.admin,
        payload: { kind: 'subject', value: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/${namespace}/**`, reason: `during ${why}` },
      })
      if (response.statusCode === 503) unavailable++
      return response
    },
    { until: (response) => response.statusCode !== 503, timeoutMs: 30_000, intervalMs: 50, what: `the revocation of ${namespace}` },
  )
  t.equal(answer.statusCode, 201, `${namespace} revoked (${why})`)
  return { id: String(answer.json().revocation.id), unavailable }
}

async function lift(t: Test, sts: TestService, id: string) {
  const answer = await eventually(
    t,
    () => sts.app.inject({ method: 'DELETE', url: `/v1/revocations/${id}`, headers: sts.admin, payload: { reason: 'all clear' } }),
    { until: (response) => response.statusCode !== 503, timeoutMs: 30_000, intervalMs: 50, what: 'the lift' },
  )
  t.equal(answer.statusCode, 200, 'lifted')
}
