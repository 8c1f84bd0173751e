import t, { type Test } from 'tap'
import { attestorOf, fileConfig, startFromFile, twoClusters } from '../../support/reload.js'
import { freshPostgresDatabase, REDIS_URL, uniqueRedisPrefix } from '../../support/servers.js'
import { ADMIN_TOKEN, startTestService, type TestService } from '../../support/service.js'

/**
 * The guardrails through the admin API, on the real Postgres and Redis: a denying rule is a 400 naming
 * every rule broken, warning rules come back with the written grant and on its audit entry, the
 * validate endpoint says the same without saving, and a reload changes them.
 */

const WIDE = 'spiffe://example.org/**'
const GOOD = {
  subject: 'spiffe://example.org/k8s/prod/ns/payments/sa/api',
  audiences: ['ledger-api'],
  owner: 'team-payments',
  description: 'payments read the ledger',
}
const TRUST_DOMAIN_REASON = `${WIDE} matches every identity of the trust domain example.org, whatever attestor minted it: name the workloads`
const ATTESTOR_REASON =
  `${WIDE} matches every identity of every kubernetes attestor (spiffe://example.org/k8s/{}/ns/{}/sa/{}); ` +
  'every aws attestor (spiffe://example.org/aws/{}/{}/{}); every gcp attestor (spiffe://example.org/gcp/{}/{}/{}); ' +
  'every azure attestor (spiffe://example.org/azure/{}/vm/{}, spiffe://example.org/azure/{}/{}/{}/{}, spiffe://example.org/azure/{}/principal/{}); ' +
  'every github attestor (spiffe://example.org/github/{}/{}), whatever their names: name the workloads (a namespace and service account, a repository, an account)'
const NO_DESCRIPTION = {
  rule: 'description-missing',
  field: 'description',
  reason: 'no description: say why the grant exists, for the next person who reads it',
}

async function guarded(t: Test, guardrails: Record<string, unknown> = {}): Promise<TestService> {
  return startTestService(t, { config: { grants: { guardrails } } })
}

function post(sts: TestService, url: string, payload: object, authorization = sts.admin.authorization) {
  return sts.app.inject({ method: 'POST', url, headers: { authorization }, payload })
}

t.test('a grant breaking denying rules is a 400 naming every rule, and is not saved', async (t) => {
  const sts = await guarded(t, { rules: { 'shared-issuer-unpinned': 'off', 'description-missing': 'deny' } })
  const response = await post(sts, '/v1/grants', { ...GOOD, subject: WIDE, description: '' })
  t.equal(response.statusCode, 400)
  t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.same(response.json(), {
    type: 'about:blank',
    title: 'Invalid request',
    status: 400,
    detail: `the grant breaks 3 guardrails: subject-spans-trust-domain: ${TRUST_DOMAIN_REASON}; subject-spans-attestor-kind: ${ATTESTOR_REASON}; description-missing: ${NO_DESCRIPTION.reason}`,
    instance: '/v1/grants',
    reason: 'grant_guardrail_denied',
    errors: [
      { path: 'subject', message: `subject-spans-trust-domain: ${TRUST_DOMAIN_REASON}` },
      { path: 'subject', message: `subject-spans-attestor-kind: ${ATTESTOR_REASON}` },
      { path: 'description', message: `description-missing: ${NO_DESCRIPTION.reason}` },
    ],
    violations: [
      { rule: 'subject-spans-trust-domain', field: 'subject', reason: TRUST_DOMAIN_REASON },
      { rule: 'subject-spans-attestor-kind', field: 'subject', reason: ATTESTOR_REASON },
      NO_DESCRIPTION,
    ],
  })
  const listed = await sts.app.inject({ method: 'GET', url: '/v1/grants', headers: sts.admin })
  t.same(listed.json(), { grants: [] }, 'nothing saved')
})

t.test('warning rules let the write through and come back in warnings, and on the audit entry', async (t) => {
  const sts = await guarded(t)
  const clean = await post(sts, '/v1/grants', GOOD)
  t.equal(clean.statusCode, 201)
  t.notOk('warnings' in clean.json(), 'no warnings, no field')

  const created = await post(sts, '/v1/grants', { ...GOOD, description: '' })
  t.equal(created.statusCode, 201)
  const grant = created.json()
  t.same(grant.warnings, [NO_DESCRIPTION])
  const audit = await sts.app.inject({ method: 'GET', url: `/v1/audit?targetId=${grant.id}`, headers: sts.admin })
  const { warnings: _warnings, ...stored } = grant
  t.same(
    audit.json().entries.map((entry: { action: string; after: unknown }) => [entry.action, entry.after]),
    [['grant.create', { ...stored, guardrailWarnings: [NO_DESCRIPTION] }]],
  )

  // The answer, sent back as it is (its warnings too), is a valid replacement; the rules apply again.
  const replace = (body: object) =>
    sts.app.inject({ method: 'PUT', url: `/v1/grants/${grant.id}`, headers: { ...sts.admin, 'if-match': '*' }, payload: body })
  const replaced = await replace({ ...grant, maxTtlSeconds: 7200 })
  t.equal(replaced.statusCode, 200)
  t.same(replaced.json().warnings, [
    {
      rule: 'ttl-above-ceiling',
      field: 'maxTtlSeconds',
      reason: 'maxTtlSeconds 7200 is above the ceiling of 3600 (grants.guardrails.maxTtlSeconds)',
    },
    NO_DESCRIPTION,
  ])
  const described = await replace({ ...grant, description: 'payments read the ledger' })
  t.equal(described.statusCode, 200)
  t.notOk('warnings' in described.json())
  const cluster = await replace({ ...grant, description: 'payments read the ledger', subject: 'spiffe://example.org/k8s/prod/**' })
  t.equal(cluster.statusCode, 200, 'one whole cluster: warned of')
  t.same(cluster.json().warnings, [
    {
      rule: 'subject-spans-attestor',
      field: 'subject',
      reason:
        'spiffe://example.org/k8s/prod/** matches every identity of attestor "prod" (kubernetes) (spiffe://example.org/k8s/prod/ns/{}/sa/{}), ' +
        'whatever their names: name the workloads (a namespace and service account, a repository, an account)',
    },
  ])
  const widened = await replace({ ...cluster.json(), subject: 'spiffe://example.org/k8s/**' })
  t.equal(widened.statusCode, 400, 'every cluster: refused')
  t.same(
    widened.json().violations.map((v: { rule: string }) => v.rule),
    ['subject-spans-attestor-kind'],
  )
  const current = await sts.app.inject({ method: 'GET', url: `/v1/grants/${grant.id}`, headers: sts.admin })
  t.equal(current.json().subject, 'spiffe://example.org/k8s/prod/**', 'the refused replacement changed nothing')
})

t.test('POST /v1/grants:validate answers what creating would do, saving nothing', async (t) => {
  const sts = await guarded(t)
  const refused = await post(sts, '/v1/grants:validate', { ...GOOD, subject: WIDE, description: '' })
  t.equal(refused.statusCode, 200)
  t.same(refused.json(), {
    allowed: false,
    denied: [
      { rule: 'subject-spans-trust-domain', field: 'subject', reason: TRUST_DOMAIN_REASON },
      { rule: 'subject-spans-attestor-kind', field: 'subject', reason: ATTESTOR_REASON },
      {
        rule: 'shared-issuer-unpinned',
        field: 'conditions',
        reason:
          `${WIDE} can match identities of every github attestor, an issuer many tenants share, and no condition pins ` +
          'repository_id or repository_owner_id to exact values: a name deleted or renamed there can be registered again by someone else',
      },
    ],
    warnings: [NO_DESCRIPTION],
  })
  t.same((await post(sts, '/v1/grants:validate', GOOD)).json(), { allowed: true, denied: [], warnings: [] })
  const invalid = await post(sts, '/v1/grants:validate', { ...GOOD, audiences: [] })
  t.equal(invalid.statusCode, 400)
  t.equal(invalid.json().reason, 'input_invalid')
  t.same((await sts.app.inject({ method: 'GET', url: '/v1/grants', headers: sts.admin })).json(), { grants: [] })

  // The role of creating grants: reading them is not enough.
  const made = await post(sts, '/v1/admin-tokens', { name: 'grant-reader', roles: ['grants:read'] })
  const reader = `Bearer ${made.json().token}`
  t.equal((await post(sts, '/v1/grants:validate', GOOD, reader)).statusCode, 403)
  const writer = `Bearer ${(await post(sts, '/v1/admin-tokens', { name: 'grant-writer', roles: ['grants:write'] })).json().token}`
  t.equal((await post(sts, '/v1/grants:validate', GOOD, writer)).statusCode, 200)
})

t.test('a reload changes the guardrails in force', async (t) => {
  const { prod } = await twoClusters()
  const stores = {
    database: { url: await freshPostgresDatabase(t), poolSize: 5 },
    redis: { url: REDIS_URL, keyPrefix: uniqueRedisPrefix() },
  }
  const sts = await startFromFile(t, fileConfig(stores, [attestorOf(prod)]))
  const create = () =>
    sts.app.inject({
      method: 'POST',
      url: '/v1/grants',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      payload: { ...GOOD, description: '' },
    })
  t.same((await create()).json().warnings, [NO_DESCRIPTION])
  sts.write(fileConfig(stores, [attestorOf(prod)], { grants: { guardrails: { rules: { 'description-missing': 'deny' } } } }))
  t.match(sts.services.reloads.reloadHere('SIGHUP'), { outcome: 'applied', changed: ['grants.guardrails.rules.description-missing'] })
  const refused = await create()
  t.equal(refused.statusCode, 400)
  t.same(refused.json().violations, [NO_DESCRIPTION])
})
