import { createHmac } from 'node:crypto'
import t from 'tap'
import { conforms } from '../../support/openapi-check.js'
import { openSse } from '../../support/sse.js'
import { JWT_TOKEN_TYPE, SOURCE_HASH_KEY, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN } from '../../support/service.js'

/** What a source id looks like to a resource server: HMAC-SHA-256 under the deployment's key, computed here on its own. */
const hashOf = (source: string) => createHmac('sha256', Buffer.from(SOURCE_HASH_KEY, 'base64')).update(source).digest('base64url')

t.test('revocations:subscribe follows the listing and the stream as notices: no reasons, no actors, sources by their hash', async (t) => {
  const sts = await startTestService(t, { config: { limits: { adminRequestsPerMinute: 0 } } })
  const address = await sts.app.listen({ host: '127.0.0.1', port: 0 })
  const made = await sts.app.inject({
    method: 'POST',
    url: '/v1/admin-tokens',
    headers: sts.admin,
    payload: { name: 'ledger-api-verifier', roles: ['revocations:subscribe'] },
  })
  t.equal(made.statusCode, 201)
  const subscriber = { authorization: `Bearer ${made.json().token}` }
  const revoke = async (kind: string, value: string, reason: string) => {
    const response = await sts.app.inject({ method: 'POST', url: '/v1/revocations', headers: sts.admin, payload: { kind, value, reason } })
    t.equal(response.statusCode, 201)
    return response.json().revocation
  }
  const notice = (whole: Record<string, unknown>, target: object) => ({
    id: whole.id,
    kind: whole.kind,
    ...target,
    createdAt: whole.createdAt,
    expiresAt: whole.expiresAt,
    liftedAt: whole.liftedAt,
    cursor: whole.cursor,
  })

  const source = await revoke('source', 'k8s:prod:node:node-a', 'node-a compromised, see INC-77 (alice@example.org)')
  t.equal(source.sourceHash, hashOf('k8s:prod:node:node-a'), 'the whole revocation carries the hash too')
  t.equal(source.value, 'k8s:prod:node:node-a')
  const subject = await revoke('subject', `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/**`, 'leaked, INC-78')
  t.notOk('sourceHash' in subject, 'only a source revocation has a hash')

  const listed = await sts.app.inject({ method: 'GET', url: '/v1/revocations', headers: subscriber })
  t.equal(listed.statusCode, 200)
  t.same(listed.json(), {
    revocations: [notice(source, { sourceHash: hashOf('k8s:prod:node:node-a') }), notice(subject, { value: subject.value })],
    cursor: subject.cursor,
  })
  conforms(t, listed, '/v1/revocations', 'get')
  for (const secret of ['INC-77', 'alice', 'node-a', 'bootstrap'])
    t.notOk(listed.body.includes(secret), `the listing does not say ${secret}`)
  const refusedFilter = await sts.app.inject({
    method: 'GET',
    url: '/v1/revocations?kind=source&value=k8s:prod:node:node-a',
    headers: subscriber,
  })
  t.equal(refusedFilter.statusCode, 403, 'a guessed source cannot be confirmed by its value')
  conforms(t, refusedFilter, '/v1/revocations', 'get')
  t.match(refusedFilter.json(), {
    detail:
      'the admin token ledger-api-verifier follows revocations only (revocations:subscribe): filtering by value needs revocations:read',
    reason: 'role_missing',
  })

  const stream = await openSse(`${address}/v1/revocations/stream?cursor=${subject.cursor}`, subscriber)
  t.teardown(() => stream.close())
  t.equal(stream.status, 200)
  const lifted = await sts.app.inject({
    method: 'DELETE',
    url: `/v1/revocations/${source.id}`,
    headers: sts.admin,
    payload: { reason: 'reimaged by bob' },
  })
  const liftedWhole = lifted.json().revocation
  const event = await stream.next()
  t.same(event, {
    id: liftedWhole.cursor,
    event: 'lifted',
    data: JSON.stringify(notice(liftedWhole, { sourceHash: hashOf('k8s:prod:node:node-a') })),
  })
  t.notOk(event.data!.includes('bob'), 'no lift reason')

  // The same hash as the tokens carry: a verifier matches them without knowing the node.
  await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  const issued = await sts.exchange({
    grant_type: TOKEN_EXCHANGE,
    subject_token: await sts.cluster.serviceAccountToken({ namespace: 'billing' }),
    subject_token_type: JWT_TOKEN_TYPE,
  })
  const claims = JSON.parse(Buffer.from(String(issued.body.access_token).split('.')[1]!, 'base64url').toString())
  t.same(claims.src_h, [hashOf('k8s:prod'), hashOf('k8s:prod:node:node-a'), hashOf('k8s:prod:pod:9a8b7c6d-0000-4000-8000-000000000002')])

  for (const [method, url] of [
    ['GET', `/v1/revocations/${source.id}`],
    ['POST', '/v1/revocations'],
    ['GET', '/v1/ledger'],
    ['GET', '/v1/grants'],
  ] as const) {
    const refused = await sts.app.inject({ method, url, headers: subscriber, ...(method === 'POST' ? { payload: {} } : {}) })
    t.equal(refused.statusCode, 403, `${method} ${url} is refused`)
  }
})
