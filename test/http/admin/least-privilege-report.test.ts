import t from 'tap'
import { GUARDRAILS_OFF, JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN, type TestService } from '../../support/service.js'

/**
 * Granted versus used, end to end: real exchanges by several workloads under several grants, the
 * report, every change it suggests applied through the admin API, and then each workload can do
 * exactly what it did in the window and nothing more of what it was granted.
 * GET /v1/reports/least-privilege?days=&expiringWithinDays= -> LeastPrivilegeReport.
 */

const NS = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns`
const DAY = 86_400_000

type Workload = { namespace: string; serviceAccount: string }
const PAY_API: Workload = { namespace: 'payments', serviceAccount: 'api' }
const PAY_WORKER: Workload = { namespace: 'payments', serviceAccount: 'worker' }
const ORDERS_API: Workload = { namespace: 'orders', serviceAccount: 'api' }
const LEGACY_BATCH: Workload = { namespace: 'legacy', serviceAccount: 'batch' }
const subjectOf = (w: Workload) => `${NS}/${w.namespace}/sa/${w.serviceAccount}`

/** A token request's outcome, as a workload sees it: the token's scope, or the error. */
async function exchange(sts: TestService, workload: Workload, audience: string, scope?: string): Promise<Record<string, unknown>> {
  const attestation = await sts.cluster.serviceAccountToken({ ...workload, issuedAt: Math.floor(sts.clock.now() / 1000) })
  const answer = await sts.exchange({
    grant_type: TOKEN_EXCHANGE,
    subject_token: attestation,
    subject_token_type: JWT_TOKEN_TYPE,
    audience,
    ...(scope === undefined ? {} : { scope }),
  })
  return answer.statusCode === 200
    ? { status: 200, scope: answer.body.scope ?? '' }
    : { status: answer.statusCode, error: answer.body.error }
}

/** Every audience and scope the workloads were granted, one request each (and the window's traffic among them). */
const PROBES: [string, Workload, string, string?][] = [
  ['payments api: ledger-api ledger:read', PAY_API, 'ledger-api', 'ledger:read'],
  ['payments api: ledger-api ledger:write', PAY_API, 'ledger-api', 'ledger:write'],
  ['payments api: ledger-api ledger:admin', PAY_API, 'ledger-api', 'ledger:admin'],
  ['payments api: billing-api', PAY_API, 'billing-api'],
  ['payments worker: ledger-api ledger:write', PAY_WORKER, 'ledger-api', 'ledger:write'],
  ['payments worker: ledger-api ledger:read', PAY_WORKER, 'ledger-api', 'ledger:read'],
  ['payments worker: billing-api', PAY_WORKER, 'billing-api'],
  ['orders api: orders-db orders:read', ORDERS_API, 'orders-db', 'orders:read'],
  ['orders api: orders-db orders:write', ORDERS_API, 'orders-db', 'orders:write'],
  ['orders api: inventory', ORDERS_API, 'inventory'],
  ['orders api: queue', ORDERS_API, 'queue'],
  ['legacy batch: reports', LEGACY_BATCH, 'reports'],
]
/** What the workloads did in the window (the legacy batch's only token is older). */
const TRAFFIC = [
  'payments api: ledger-api ledger:read',
  'payments worker: ledger-api ledger:write',
  'orders api: orders-db orders:read',
  'orders api: queue',
]

/** The inventory is written behind the ledger: what the exchanges so far rolled up, written now. */
function flushed(sts: TestService): Promise<void> {
  return sts.services.inventoryRecorder.flush()
}

async function probe(sts: TestService): Promise<Record<string, Record<string, unknown>>> {
  const outcomes: Record<string, Record<string, unknown>> = {}
  for (const [name, workload, audience, scope] of PROBES) outcomes[name] = await exchange(sts, workload, audience, scope)
  return outcomes
}

for (const backend of ['real', 'embedded'] as const) {
  t.test(`applying the least-privilege report leaves each workload what it used and nothing more (${backend})`, async (t) => {
    const sts = await startTestService(t, {
      backend,
      config: { grants: { guardrails: { rules: { ...GUARDRAILS_OFF.rules, 'description-missing': 'warn' } } } },
    })
    const start = sts.clock.now()
    const iso = (ms: number) => new Date(ms).toISOString()
    const admin = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown, headers: Record<string, string> = {}) =>
      sts.app.inject({
        method,
        url,
        headers: { ...sts.admin, ...headers },
        ...(payload === undefined ? {} : { payload: payload as object }),
      })

    const pay = await sts.createGrant({
      subject: `${NS}/payments/sa/*`,
      audiences: ['ledger-api', 'billing-api'],
      scopes: ['ledger:read', 'ledger:write', 'ledger:admin'],
      owner: 'team-payments',
      description: 'Payments reach the ledger.',
    })
    sts.clock.advance(1000) // Grants are listed in creation order: one a second keeps it the order they are made in here.
    const orders = await sts.createGrant({
      subject: subjectOf(ORDERS_API),
      audiences: ['orders-db', 'inventory'],
      scopes: ['orders:read', 'orders:write'],
      owner: 'team-orders',
      description: 'The orders API and its data.',
      expiresAt: iso(start + 35 * DAY),
    })
    sts.clock.advance(1000)
    const queue = await sts.createGrant({
      subject: subjectOf(ORDERS_API),
      audiences: ['queue'],
      scopes: ['queue:consume', 'queue:publish'],
      owner: 'team-orders',
      description: 'The orders API works its queue.',
    })
    sts.clock.advance(1000)
    const legacy = await sts.createGrant({
      subject: subjectOf(LEGACY_BATCH),
      audiences: ['reports'],
      owner: 'team-legacy',
      description: 'The nightly batch.',
    })
    sts.clock.advance(1000)
    const spare = await sts.createGrant({
      subject: `${NS}/legacy/sa/cron`,
      audiences: ['reports'],
      owner: 'team-legacy',
      description: 'Never used.',
    })
    sts.clock.advance(1000)
    const made = async (body: object) => {
      const response = await admin('POST', '/v1/admin-tokens', body)
      t.equal(response.statusCode, 201, response.body)
      return response.json<{ adminToken: { id: string }; token: string }>()
    }
    const payments = await made({
      name: 'payments-team',
      roles: ['reports:read', 'grants:read'],
      scope: { owners: ['team-payments'], subjectPrefixes: [`${NS}/payments`] },
    })
    const ordersToken = await made({
      name: 'orders-team',
      roles: ['grants:read'],
      scope: { owners: ['team-orders'], subjectPrefixes: [`${NS}/orders`] },
    })
    t.equal((await admin('DELETE', `/v1/admin-tokens/${ordersToken.adminToken.id}`)).statusCode, 200)
    const grantReader = await made({ name: 'grant-reader', roles: ['grants:read', 'ledger:read'] })

    const t0 = sts.clock.now()
    t.same(await exchange(sts, LEGACY_BATCH, 'reports'), { status: 200, scope: '' })
    sts.clock.advance(31 * DAY)
    const t1 = sts.clock.now()
    const young = await sts.createGrant({ subject: `${NS}/search/sa/indexer`, audiences: ['search'], owner: 'team-search' })
    t.same(await exchange(sts, PAY_API, 'ledger-api', 'ledger:read'), { status: 200, scope: 'ledger:read' })
    t.same(await exchange(sts, PAY_WORKER, 'ledger-api', 'ledger:write'), { status: 200, scope: 'ledger:write' })
    t.same(await exchange(sts, ORDERS_API, 'orders-db', 'orders:read'), { status: 200, scope: 'orders:read' })
    t.same(await exchange(sts, ORDERS_API, 'queue'), { status: 200, scope: 'queue:consume queue:publish' })

    const response = await flushed(sts).then(() => admin('GET', '/v1/reports/least-privilege?days=30&expiringWithinDays=7'))
    t.equal(response.statusCode, 200, response.body)
    const report = response.json<{
      findings: { kind: string; changes?: { method: string; path: string; ifMatch?: string; body?: object }[] }[]
    }>()
    const used = iso(t1)
    const body = (grant: Record<string, unknown>) => ({
      subject: grant.subject,
      conditions: {},
      audiences: grant.audiences,
      scopes: grant.scopes,
      maxTtlSeconds: 3600,
      owner: grant.owner,
      description: grant.description,
      expiresAt: grant.expiresAt,
      enabled: true,
      requireDpop: false,
      mayAct: [],
    })
    const ref = (grant: Record<string, unknown>) => ({ grantId: grant.id, owner: grant.owner, subject: grant.subject })
    const splitNote = (subject: string) =>
      `Payments reach the ledger. (Split from grant ${pay.id} for ${subject} by the least-privilege report.)`
    t.same(report, {
      generatedAt: used,
      days: 30,
      expiringWithinDays: 7,
      since: iso(t1 - 30 * DAY),
      grants: [
        {
          grant: pay.id,
          owner: 'team-payments',
          subject: pay.subject,
          lastUsed: used,
          identities: 2,
          audiences: [
            { audience: 'ledger-api', lastUsed: used },
            { audience: 'billing-api', lastUsed: null },
          ],
          scopes: [
            { scope: 'ledger:read', lastUsed: used },
            { scope: 'ledger:write', lastUsed: used },
            { scope: 'ledger:admin', lastUsed: null },
          ],
          unusedAudiences: ['billing-api'],
          unusedScopes: ['ledger:admin'],
        },
        {
          grant: orders.id,
          owner: 'team-orders',
          subject: orders.subject,
          lastUsed: used,
          identities: 1,
          audiences: [
            { audience: 'orders-db', lastUsed: used },
            { audience: 'inventory', lastUsed: null },
          ],
          scopes: [
            { scope: 'orders:read', lastUsed: used },
            { scope: 'orders:write', lastUsed: null },
          ],
          unusedAudiences: ['inventory'],
          unusedScopes: ['orders:write'],
        },
        {
          grant: queue.id,
          owner: 'team-orders',
          subject: queue.subject,
          lastUsed: used,
          identities: 1,
          audiences: [{ audience: 'queue', lastUsed: used }],
          scopes: [
            { scope: 'queue:consume', lastUsed: used },
            { scope: 'queue:publish', lastUsed: used },
          ],
          unusedAudiences: [],
          unusedScopes: [],
        },
        {
          grant: legacy.id,
          owner: 'team-legacy',
          subject: legacy.subject,
          lastUsed: iso(t0),
          identities: 0,
          audiences: [{ audience: 'reports', lastUsed: iso(t0) }],
          scopes: [],
          unusedAudiences: ['reports'],
          unusedScopes: [],
        },
        {
          grant: spare.id,
          owner: 'team-legacy',
          subject: spare.subject,
          lastUsed: null,
          identities: 0,
          audiences: [{ audience: 'reports', lastUsed: null }],
          scopes: [],
          unusedAudiences: ['reports'],
          unusedScopes: [],
        },
        {
          grant: young.id,
          owner: 'team-search',
          subject: young.subject,
          lastUsed: null,
          identities: 0,
          audiences: [{ audience: 'search', lastUsed: null }],
          scopes: [],
          unusedAudiences: ['search'],
          unusedScopes: [],
        },
      ],
      findings: [
        {
          kind: 'split-grant',
          ...ref(pay),
          subjects: [subjectOf(PAY_API), subjectOf(PAY_WORKER)],
          unusedAudiences: ['billing-api'],
          unusedScopes: ['ledger:admin'],
          changes: [
            {
              method: 'POST',
              path: '/v1/grants',
              body: {
                ...body(pay),
                subject: subjectOf(PAY_API),
                audiences: ['ledger-api'],
                scopes: ['ledger:read'],
                description: splitNote(subjectOf(PAY_API)),
              },
            },
            {
              method: 'POST',
              path: '/v1/grants',
              body: {
                ...body(pay),
                subject: subjectOf(PAY_WORKER),
                audiences: ['ledger-api'],
                scopes: ['ledger:write'],
                description: splitNote(subjectOf(PAY_WORKER)),
              },
            },
            { method: 'DELETE', path: `/v1/grants/${pay.id}` },
          ],
        },
        {
          kind: 'unused-access',
          ...ref(orders),
          unusedAudiences: ['inventory'],
          unusedScopes: ['orders:write'],
          changes: [
            {
              method: 'PUT',
              path: `/v1/grants/${orders.id}`,
              ifMatch: '"1"',
              body: { ...body(orders), audiences: ['orders-db'], scopes: ['orders:read'] },
            },
          ],
        },
        { kind: 'expiring-grant', ...ref(orders), expiresAt: iso(start + 35 * DAY) },
        { kind: 'ownerless-grant', ...ref(orders) },
        { kind: 'ownerless-grant', ...ref(queue) },
        { kind: 'unused-grant', ...ref(legacy), lastUsed: iso(t0), changes: [{ method: 'DELETE', path: `/v1/grants/${legacy.id}` }] },
        { kind: 'ownerless-grant', ...ref(legacy) },
        { kind: 'unused-grant', ...ref(spare), lastUsed: null, changes: [{ method: 'DELETE', path: `/v1/grants/${spare.id}` }] },
        { kind: 'ownerless-grant', ...ref(spare) },
        { kind: 'ownerless-grant', ...ref(young) },
        {
          kind: 'guardrail',
          ...ref(young),
          rules: [
            {
              rule: 'description-missing',
              field: 'description',
              reason: 'no description: say why the grant exists, for the next person who reads it',
            },
          ],
        },
        { kind: 'stale-identity', subject: subjectOf(LEGACY_BATCH), attestor: 'prod', lastSeen: iso(t0) },
      ],
      staleIdentitiesTruncated: false,
    })

    // A team's token: its own grants and identities only.
    const scoped = await sts.app.inject({
      method: 'GET',
      url: '/v1/reports/least-privilege?days=30&expiringWithinDays=7',
      headers: { authorization: `Bearer ${payments.token}` },
    })
    t.equal(scoped.statusCode, 200)
    const teamView = scoped.json<{ grants: { grant: string }[]; findings: { kind: string; grantId?: string }[] }>()
    t.same(
      { grants: teamView.grants.map((g) => g.grant), findings: teamView.findings.map((f) => [f.kind, f.grantId]) },
      { grants: [pay.id], findings: [['split-grant', pay.id]] },
    )
    const refused = await sts.app.inject({
      method: 'GET',
      url: '/v1/reports/least-privilege',
      headers: { authorization: `Bearer ${grantReader.token}` },
    })
    t.equal(refused.statusCode, 403)
    t.equal(refused.json().detail, 'the admin token grant-reader does not have the role reports:read')

    // The report is taken; now what the workloads can do, then every change applied, then again.
    const before = await probe(sts)
    t.same(
      Object.values(before).map((outcome) => outcome.status),
      PROBES.map(() => 200),
      'before: everything granted is obtainable',
    )
    for (const finding of report.findings) {
      for (const change of finding.changes ?? []) {
        const applied = await admin(change.method as 'POST', change.path, change.body, change.ifMatch ? { 'if-match': change.ifMatch } : {})
        t.ok(
          applied.statusCode === 200 || applied.statusCode === 201,
          `${change.method} ${change.path}: ${applied.statusCode} ${applied.body}`,
        )
      }
    }
    const after = await probe(sts)
    t.same(
      Object.fromEntries(TRAFFIC.map((name) => [name, after[name]])),
      Object.fromEntries(TRAFFIC.map((name) => [name, before[name]])),
      'what each workload did in the window, it still can, with the same scopes',
    )
    t.same(after, {
      'payments api: ledger-api ledger:read': { status: 200, scope: 'ledger:read' },
      'payments api: ledger-api ledger:write': { status: 400, error: 'invalid_scope' },
      'payments api: ledger-api ledger:admin': { status: 400, error: 'invalid_scope' },
      'payments api: billing-api': { status: 400, error: 'invalid_target' },
      'payments worker: ledger-api ledger:write': { status: 200, scope: 'ledger:write' },
      'payments worker: ledger-api ledger:read': { status: 400, error: 'invalid_scope' },
      'payments worker: billing-api': { status: 400, error: 'invalid_target' },
      'orders api: orders-db orders:read': { status: 200, scope: 'orders:read' },
      'orders api: orders-db orders:write': { status: 400, error: 'invalid_scope' },
      'orders api: inventory': { status: 400, error: 'invalid_target' },
      'orders api: queue': { status: 200, scope: 'queue:consume queue:publish' },
      'legacy batch: reports': { status: 400, error: 'invalid_grant' },
    })

    // Nothing is left to take away: the new grants gave exactly what they hold.
    const again = (await flushed(sts).then(() => admin('GET', '/v1/reports/least-privilege?days=30'))).json<{
      findings: { kind: string }[]
    }>()
    t.same(
      again.findings.filter((f) => ['unused-grant', 'unused-access', 'split-grant'].includes(f.kind)),
      [],
    )
  })
}

t.test('bad queries are 400 problems naming each parameter', async (t) => {
  const sts = await startTestService(t, { backend: 'embedded' })
  const response = await sts.app.inject({
    method: 'GET',
    url: '/v1/reports/least-privilege?days=0&expiringWithinDays=soon&colour=blue',
    headers: sts.admin,
  })
  t.equal(response.statusCode, 400)
  t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.same(
    response
      .json<{ errors: { path: string }[] }>()
      .errors.map((e) => e.path)
      .sort(),
    ['(query)', 'days', 'expiringWithinDays'],
  )
})
