import t from 'tap'
import { JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN } from '../../support/service.js'

const FORMS = "matches no configured attestor's sources, which look like k8s:prod, k8s:prod:node:<node>, k8s:prod:pod:<uid>"

t.test('a source revocation that cannot match any configured attestor is a 400 that lists the forms', async (t) => {
  const sts = await startTestService(t)
  const revoke = (value: string) =>
    sts.app.inject({
      method: 'POST',
      url: '/v1/revocations',
      headers: sts.admin,
      payload: { kind: 'source', value, reason: 'node compromised' },
    })
  for (const value of ['k8s:staging', 'k8s:prodx', 'k8s:prod:', 'aws:975050371289', 'prod', 'node-a']) {
    const refused = await revoke(value)
    t.equal(refused.statusCode, 400, `${value} is refused`)
    t.same(refused.json(), {
      type: 'about:blank',
      title: 'Invalid request',
      status: 400,
      detail: `the revocation is not valid: value: ${FORMS}`,
      instance: '/v1/revocations',
      reason: 'input_invalid',
      errors: [{ path: 'value', message: FORMS }],
    })
  }
  for (const value of ['k8s:prod', 'k8s:prod:node:node-a', 'k8s:prod:pod:9a8b7c6d-0000-4000-8000-000000000002']) {
    t.equal((await revoke(value)).statusCode, 201, `${value} is revoked`)
  }
  const listed = (await sts.app.inject({ method: 'GET', url: '/v1/revocations?kind=source', headers: sts.admin })).json()
  t.equal(listed.revocations.length, 3, 'only the three that can match were recorded')
})

t.test("a client's X-Request-Id never passes for one of ours on the ledger or the audit log", async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/*`,
    audiences: ['ledger-api'],
    owner: 'team-payments',
  })
  const exchange = async (requestId?: string) => {
    const response = await sts.app.inject({
      method: 'POST',
      url: '/oauth2/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(requestId ? { 'x-request-id': requestId } : {}) },
      payload: new URLSearchParams({
        grant_type: TOKEN_EXCHANGE,
        subject_token: await sts.cluster.serviceAccountToken(),
        subject_token_type: JWT_TOKEN_TYPE,
        audience: 'ledger-api',
      }).toString(),
    })
    t.equal(response.statusCode, 200)
    const { jti } = JSON.parse(Buffer.from(String(response.json().access_token).split('.')[1], 'base64url').toString())
    return { jti: jti as string, header: response.headers['x-request-id'] }
  }
  const ours = await exchange()
  t.match(ours.header, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'one we made: a bare UUID')
  // A client replays our id as its own: the ledger must still tell the two requests apart.
  const theirs = await exchange(ours.header as string)
  t.equal(theirs.header, `client:${ours.header}`)
  const ledger = (await sts.app.inject({ method: 'GET', url: '/v1/ledger', headers: sts.admin })).json().entries as Array<{
    jti: string
    requestId: string
  }>
  t.equal(ledger.find((e) => e.jti === ours.jti)?.requestId, ours.header)
  t.equal(ledger.find((e) => e.jti === theirs.jti)?.requestId, `client:${ours.header}`)

  const change = await sts.app.inject({
    method: 'POST',
    url: '/v1/revocations',
    headers: { ...sts.admin, 'x-request-id': 'incident-42' },
    payload: { kind: 'token', value: ours.jti, reason: 'test' },
  })
  t.equal(change.headers['x-request-id'], 'client:incident-42')
  const audit = (await sts.app.inject({ method: 'GET', url: '/v1/audit?targetType=revocation', headers: sts.admin })).json()
  t.same(
    audit.entries.map((e: { requestId: string }) => e.requestId),
    ['client:incident-42'],
  )
})
