import t from 'tap'
import { startTestService, TRUST_DOMAIN, type TestService } from '../../support/service.js'

/**
 * Who may act for a grant's subjects (`mayAct`) through the admin API, on Postgres and on PGlite:
 * stored and shown, kept by a PUT that leaves it out, changed by one that sends it, validated like
 * `subject`, and warned of when broad.
 */

const TD = `spiffe://${TRUST_DOMAIN}`
const SUBJECT = `${TD}/k8s/prod/ns/payments/sa/*`
const AGENTS = `${TD}/k8s/prod/ns/agents/sa/*`
const GATEWAY = `${TD}/k8s/prod/ns/edge/sa/gateway`
const GRANT = { subject: SUBJECT, audiences: ['ledger-api'], owner: 'team-payments', description: 'payments read the ledger' }

function call(sts: TestService, method: 'GET' | 'POST' | 'PUT', url: string, payload?: object, headers: Record<string, string> = {}) {
  return sts.app.inject({ method, url, headers: { ...sts.admin, ...headers }, ...(payload === undefined ? {} : { payload }) })
}

function replace(sts: TestService, current: Record<string, unknown>, body: Record<string, unknown>) {
  return call(sts, 'PUT', `/v1/grants/${String(current.id)}`, body, { 'if-match': `"${String(current.version)}"` })
}

for (const backend of ['real', 'embedded'] as const) {
  t.test(`mayAct is stored, shown, kept by a PUT that leaves it out and replaced by one that sends it (${backend})`, async (t) => {
    const sts = await startTestService(t, { backend })
    const plain = await sts.createGrant(GRANT)
    t.same(plain.mayAct, [], 'nobody, unless asked for')

    const created = await call(sts, 'POST', '/v1/grants', { ...GRANT, mayAct: [AGENTS, GATEWAY] })
    t.equal(created.statusCode, 201, created.body)
    const grant = created.json()
    t.same(grant.mayAct, [AGENTS, GATEWAY])
    const shown = await call(sts, 'GET', `/v1/grants/${grant.id}`)
    t.same(shown.json(), grant, 'read back from the store, every field as created')

    const { mayAct: _left, ...withoutIt } = grant
    const kept = await replace(sts, grant, { ...withoutIt, scopes: ['ledger:read'] })
    t.equal(kept.statusCode, 200, kept.body)
    t.same(
      kept.json(),
      { ...grant, scopes: ['ledger:read'], version: 2, updatedAt: kept.json().updatedAt },
      'left out of a PUT, the grant keeps it (and only what was sent changes)',
    )
    const changed = await replace(sts, kept.json(), { ...kept.json(), mayAct: [GATEWAY] })
    t.equal(changed.statusCode, 200, changed.body)
    t.same(changed.json().mayAct, [GATEWAY], 'sent, it replaces the list')
    const cleared = await replace(sts, changed.json(), { ...changed.json(), mayAct: [] })
    t.same(cleared.json().mayAct, [], 'sent empty, nobody may act any more')
    t.same((await call(sts, 'GET', `/v1/grants/${grant.id}`)).json().mayAct, [], 'as stored')
  })
}

t.test('mayAct is validated like subject: SPIFFE globs, at most 50, none repeated; a problem names each', async (t) => {
  const sts = await startTestService(t, { backend: 'embedded' })
  const refused = await call(sts, 'POST', '/v1/grants', { ...GRANT, mayAct: [AGENTS, 'agents-*', ''] })
  t.equal(refused.statusCode, 400)
  t.equal(refused.headers['content-type'], 'application/problem+json; charset=utf-8')
  const notSpiffe = 'must be a SPIFFE ID or a glob of them, e.g. spiffe://example.org/k8s/prod/ns/payments/sa/*'
  t.same(refused.json(), {
    type: 'about:blank',
    title: 'Invalid request',
    status: 400,
    detail: `the grant is not valid: mayAct.1: ${notSpiffe}; mayAct.2: Too small: expected string to have >=1 characters; mayAct.2: ${notSpiffe}`,
    instance: '/v1/grants',
    reason: 'input_invalid',
    errors: [
      { path: 'mayAct.1', message: notSpiffe },
      { path: 'mayAct.2', message: 'Too small: expected string to have >=1 characters' },
      { path: 'mayAct.2', message: notSpiffe },
    ],
  })

  const problemsOf = async (mayAct: unknown) => (await call(sts, 'POST', '/v1/grants', { ...GRANT, mayAct })).json().errors
  t.same(await problemsOf([AGENTS, GATEWAY, AGENTS]), [{ path: 'mayAct', message: 'must not list the same glob twice' }])
  const many = Array.from({ length: 51 }, (_, i) => `${TD}/k8s/prod/ns/agents/sa/a${i}`)
  t.same(await problemsOf(many), [{ path: 'mayAct', message: 'Too big: expected array to have <=50 items' }])
  t.same(await problemsOf(AGENTS), [{ path: 'mayAct', message: 'Invalid input: expected array, received string' }])
  t.same(await problemsOf([`${AGENTS}/${'x'.repeat(512)}`]), [
    { path: 'mayAct.0', message: 'Too big: expected string to have <=512 characters' },
  ])
  const fifty = await call(sts, 'POST', '/v1/grants', { ...GRANT, mayAct: many.slice(0, 50) })
  t.equal(fifty.statusCode, 201, 'fifty are allowed')

  const grant = await sts.createGrant(GRANT)
  const badPut = await replace(sts, grant, { ...grant, mayAct: [AGENTS, AGENTS] })
  t.equal(badPut.statusCode, 400)
  t.same(badPut.json().errors, [{ path: 'mayAct', message: 'must not list the same glob twice' }], 'a PUT is held to the same')
  t.same((await call(sts, 'GET', `/v1/grants/${String(grant.id)}`)).json().mayAct, [], 'and changes nothing')
})

t.test("mayAct globs in github.com's namespace are lower-cased as the service mints them, and kept once", async (t) => {
  const sts = await startTestService(t, { backend: 'embedded' })
  const grant = await sts.createGrant({ ...GRANT, mayAct: [`${TD}/github/Acme/Agent`, `${TD}/github/acme/agent`, AGENTS] })
  t.same(grant.mayAct, [`${TD}/github/acme/agent`, AGENTS])
})

t.test('a broad mayAct glob is warned of (may-act-spans), and refused when configured to deny', async (t) => {
  // The test service turns the guardrails off unless configured: these are the defaults.
  const sts = await startTestService(t, { backend: 'embedded', config: { grants: { guardrails: {} } } })
  const named = await call(sts, 'POST', '/v1/grants', { ...GRANT, mayAct: [GATEWAY, AGENTS] })
  t.equal(named.json().warnings, undefined, 'named workloads: nothing to say')
  const created = await call(sts, 'POST', '/v1/grants', { ...GRANT, mayAct: [GATEWAY, `${TD}/**`] })
  t.equal(created.statusCode, 201, created.body)
  t.same(created.json().warnings, [
    {
      rule: 'may-act-spans',
      field: 'mayAct',
      reason: `${TD}/** matches every identity of the trust domain ${TRUST_DOMAIN}, whatever attestor minted it: each of them may act for the grant's subjects; name the workloads that may act`,
    },
  ])
  t.same(created.json().mayAct, [GATEWAY, `${TD}/**`], 'a warning saves the grant as sent')

  const strict = await startTestService(t, {
    backend: 'embedded',
    config: { grants: { guardrails: { rules: { 'may-act-spans': 'deny' } } } },
  })
  const refused = await call(strict, 'POST', '/v1/grants', { ...GRANT, mayAct: [`${TD}/**`] })
  t.equal(refused.statusCode, 400)
  t.match(refused.json(), { reason: 'grant_guardrail_denied', violations: [{ rule: 'may-act-spans', field: 'mayAct' }] })
})
