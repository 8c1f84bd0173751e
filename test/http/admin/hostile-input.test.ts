import t from 'tap'
import { startTestService, TRUST_DOMAIN } from '../../support/service.js'

/**
 * Bad input is a 400 problem that says what is wrong, never a 503 that looks like an outage: a NUL
 * byte (which Postgres cannot store), ids that are not UUIDs (36 dashes), over-long values. Every
 * field and query parameter of the admin API that reaches a store is in the table.
 */

const NUL = '\u0000'
const DASHES = '-'.repeat(36)
const LONG = 'a'.repeat(5000)
/** Fastify's longest path parameter is 100 characters; a longer one is a 414 (tested below). */
const LONG_ID = 'a'.repeat(100)
const SUBJECT = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`
const grant = { subject: SUBJECT, audiences: ['ledger-api'], owner: 'team-payments' }
const invalid = (what: string, errors: Array<[string, string]>) => ({
  title: 'Invalid request',
  detail: `the ${what} is not valid: ${errors.map(([path, message]) => `${path}: ${message}`).join('; ')}`,
  reason: 'input_invalid',
  errors: errors.map(([path, message]) => ({ path, message })),
})
const noNul = 'must not contain a NUL character'
const notUuid = 'must be a UUID, e.g. 0b8f3c2e-0000-4000-8000-000000000000'

t.test('hostile input to the admin API is a 400 problem, never a 503', async (t) => {
  const sts = await startTestService(t)
  const existing = await sts.createGrant(grant)
  const revoked = await sts.app.inject({
    method: 'POST',
    url: '/v1/revocations',
    headers: sts.admin,
    payload: { kind: 'source', value: 'k8s:prod', reason: 'test' },
  })
  const revocationId = revoked.json().revocation.id as string
  const q = encodeURIComponent
  const cases: Array<{
    name: string
    method: 'GET' | 'POST' | 'PUT' | 'DELETE'
    url: string
    payload?: object
    headers?: Record<string, string>
    expected: ReturnType<typeof invalid>
  }> = [
    // POST /v1/grants: a NUL in every string field
    {
      name: 'grant subject',
      method: 'POST',
      url: '/v1/grants',
      payload: { ...grant, subject: `${SUBJECT}${NUL}` },
      expected: invalid('grant', [['subject', noNul]]),
    },
    {
      name: 'grant audience',
      method: 'POST',
      url: '/v1/grants',
      payload: { ...grant, audiences: [`ledger${NUL}`] },
      expected: invalid('grant', [['audiences.0', noNul]]),
    },
    {
      name: 'grant owner',
      method: 'POST',
      url: '/v1/grants',
      payload: { ...grant, owner: `team${NUL}` },
      expected: invalid('grant', [['owner', noNul]]),
    },
    {
      name: 'grant description',
      method: 'POST',
      url: '/v1/grants',
      payload: { ...grant, description: `x${NUL}` },
      expected: invalid('grant', [['description', noNul]]),
    },
    {
      name: 'grant condition value',
      method: 'POST',
      url: '/v1/grants',
      payload: { ...grant, conditions: { namespace: `pay${NUL}` } },
      expected: invalid('grant', [['conditions.namespace', noNul]]),
    },
    {
      name: 'grant condition list value',
      method: 'POST',
      url: '/v1/grants',
      payload: { ...grant, conditions: { namespace: ['a', `b${NUL}`] } },
      expected: invalid('grant', [['conditions.namespace.1', noNul]]),
    },
    {
      name: 'grant expiresAt',
      method: 'POST',
      url: '/v1/grants',
      payload: { ...grant, expiresAt: `2030-01-01T00:00:00Z${NUL}` },
      expected: invalid('grant', [['expiresAt', noNul]]),
    },
    // the grant id in the path
    { name: 'grant id of dashes (GET)', method: 'GET', url: `/v1/grants/${DASHES}`, expected: invalid('path', [['id', notUuid]]) },
    {
      name: 'grant id with a NUL (GET)',
      method: 'GET',
      url: `/v1/grants/${q(`${existing.id}${NUL}`)}`,
      expected: invalid('path', [['id', noNul]]),
    },
    { name: 'over-long grant id (GET)', method: 'GET', url: `/v1/grants/${LONG_ID}`, expected: invalid('path', [['id', notUuid]]) },
    {
      name: 'grant id of dashes (PUT)',
      method: 'PUT',
      url: `/v1/grants/${DASHES}`,
      headers: { 'if-match': '"1"' },
      payload: { ...existing, id: undefined },
      expected: invalid('path', [['id', notUuid]]),
    },
    { name: 'grant id of dashes (DELETE)', method: 'DELETE', url: `/v1/grants/${DASHES}`, expected: invalid('path', [['id', notUuid]]) },
    {
      name: 'grant replacement owner',
      method: 'PUT',
      url: `/v1/grants/${existing.id}`,
      headers: { 'if-match': '"1"' },
      payload: { ...existing, owner: `o${NUL}` },
      expected: invalid('grant', [['owner', noNul]]),
    },
    {
      name: 'grant replacement id of dashes',
      method: 'PUT',
      url: `/v1/grants/${existing.id}`,
      headers: { 'if-match': '"1"' },
      payload: { ...existing, id: DASHES },
      expected: invalid('grant', [['id', notUuid]]),
    },
    // GET /v1/grants
    {
      name: 'grants owner query',
      method: 'GET',
      url: `/v1/grants?owner=${q(`team${NUL}`)}`,
      expected: invalid('query', [['owner', noNul]]),
    },
    {
      name: 'grants subject query',
      method: 'GET',
      url: `/v1/grants?subject=${q(`spiffe://x/${NUL}`)}`,
      expected: invalid('query', [['subject', noNul]]),
    },
    { name: 'grants cursor query', method: 'GET', url: `/v1/grants?cursor=${q(NUL)}`, expected: invalid('query', [['cursor', noNul]]) },
    // POST /v1/revocations
    {
      name: 'revocation source value',
      method: 'POST',
      url: '/v1/revocations',
      payload: { kind: 'source', value: `k8s:prod${NUL}`, reason: 'x' },
      expected: invalid('revocation', [['value', noNul]]),
    },
    {
      name: 'revocation subject value',
      method: 'POST',
      url: '/v1/revocations',
      payload: { kind: 'subject', value: `${SUBJECT}${NUL}`, reason: 'x' },
      expected: invalid('revocation', [['value', noNul]]),
    },
    {
      name: 'revocation reason',
      method: 'POST',
      url: '/v1/revocations',
      payload: { kind: 'source', value: 'k8s:prod', reason: `x${NUL}` },
      expected: invalid('revocation', [['reason', noNul]]),
    },
    {
      name: 'revocation token of dashes',
      method: 'POST',
      url: '/v1/revocations',
      payload: { kind: 'token', value: DASHES, reason: 'x' },
      expected: invalid('revocation', [['value', 'a token is named by its id, a UUID']]),
    },
    {
      name: 'over-long revocation reason',
      method: 'POST',
      url: '/v1/revocations',
      payload: { kind: 'source', value: 'k8s:prod', reason: LONG },
      expected: invalid('revocation', [['reason', 'Too big: expected string to have <=2000 characters']]),
    },
    // revocation ids and lifting
    {
      name: 'revocation id of dashes (GET)',
      method: 'GET',
      url: `/v1/revocations/${DASHES}`,
      expected: invalid('path', [['id', notUuid]]),
    },
    {
      name: 'revocation id of dashes (DELETE)',
      method: 'DELETE',
      url: `/v1/revocations/${DASHES}`,
      payload: { reason: 'x' },
      expected: invalid('path', [['id', notUuid]]),
    },
    {
      name: 'revocation id with a NUL (GET)',
      method: 'GET',
      url: `/v1/revocations/${q(`${revocationId}${NUL}`)}`,
      expected: invalid('path', [['id', noNul]]),
    },
    {
      name: 'lift reason',
      method: 'DELETE',
      url: `/v1/revocations/${revocationId}`,
      payload: { reason: `x${NUL}` },
      expected: invalid('lift', [['reason', noNul]]),
    },
    // GET /v1/revocations
    {
      name: 'revocations value query',
      method: 'GET',
      url: `/v1/revocations?value=${q(`k8s${NUL}`)}`,
      expected: invalid('query', [['value', noNul]]),
    },
    // GET /v1/ledger
    {
      name: 'ledger source query',
      method: 'GET',
      url: `/v1/ledger?source=${q(`k8s:prod${NUL}`)}`,
      expected: invalid('query', [['source', noNul]]),
    },
    {
      name: 'ledger audience query',
      method: 'GET',
      url: `/v1/ledger?audience=${q(`api${NUL}`)}`,
      expected: invalid('query', [['audience', noNul]]),
    },
    {
      name: 'ledger grant query of dashes',
      method: 'GET',
      url: `/v1/ledger?grant=${DASHES}`,
      expected: invalid('query', [['grant', 'must be a grant id (a UUID)']]),
    },
    { name: 'ledger cursor query', method: 'GET', url: `/v1/ledger?cursor=${q(NUL)}`, expected: invalid('query', [['cursor', noNul]]) },
    // GET /v1/audit
    {
      name: 'audit targetId query',
      method: 'GET',
      url: `/v1/audit?targetId=${q(`x${NUL}`)}`,
      expected: invalid('query', [['targetId', noNul]]),
    },
    {
      name: 'audit actor query',
      method: 'GET',
      url: `/v1/audit?actor=${q(`bootstrap${NUL}`)}`,
      expected: invalid('query', [['actor', noNul]]),
    },
    // admin tokens
    { name: 'admin token id of dashes', method: 'DELETE', url: `/v1/admin-tokens/${DASHES}`, expected: invalid('path', [['id', notUuid]]) },
    {
      name: 'admin token id with a NUL',
      method: 'DELETE',
      url: `/v1/admin-tokens/${q(`0b8f3c2e-0000-4000-8000-000000000000${NUL}`)}`,
      expected: invalid('path', [['id', noNul]]),
    },
    {
      name: 'admin token name',
      method: 'POST',
      url: '/v1/admin-tokens',
      payload: { name: `x${NUL}`, roles: ['introspect'] },
      expected: invalid('admin token', [['name', noNul]]),
    },
  ]
  for (const c of cases) {
    const response = await sts.app.inject({
      method: c.method,
      url: c.url,
      headers: { ...sts.admin, ...c.headers },
      ...(c.payload ? { payload: c.payload } : {}),
    })
    t.equal(response.statusCode, 400, `${c.name}: 400`)
    t.same(response.json(), { type: 'about:blank', status: 400, instance: c.url.split('?')[0], ...c.expected }, `${c.name}: the problem`)
  }
  const tooLong = await sts.app.inject({ method: 'GET', url: `/v1/grants/${LONG}`, headers: sts.admin })
  t.equal(tooLong.statusCode, 414, 'a path parameter beyond 100 characters is refused by Fastify itself')
  // Nothing of it reached a store: the one grant and the one revocation are as they were.
  t.equal((await sts.app.inject({ method: 'GET', url: '/v1/grants', headers: sts.admin })).json().grants.length, 1)
  t.equal((await sts.app.inject({ method: 'GET', url: '/v1/revocations', headers: sts.admin })).json().revocations.length, 1)
})
