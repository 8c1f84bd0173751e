import pg from 'pg'
import t from 'tap'
import { openSse } from '../../support/sse.js'
import { startTestService, TRUST_DOMAIN } from '../../support/service.js'

t.test('the revocation stream delivers changes as they happen and resumes from its cursor without a gap', async (t) => {
  const sts = await startTestService(t, { config: { limits: { adminRequestsPerMinute: 0 } } })
  const address = await sts.app.listen({ host: '127.0.0.1', port: 0 })
  const revoke = async (value: string) =>
    (
      await sts.app.inject({
        method: 'POST',
        url: '/v1/revocations',
        headers: sts.admin,
        payload: { kind: 'subject', value, reason: 'leak' },
      })
    ).json().revocation
  const lift = async (id: string) =>
    (await sts.app.inject({ method: 'DELETE', url: `/v1/revocations/${id}`, headers: sts.admin, payload: { reason: 'clear' } })).json()
      .revocation

  const before = await revoke(`spiffe://${TRUST_DOMAIN}/k8s/prod/ns/a/sa/old`)
  const stream = await openSse(`${address}/v1/revocations/stream`, sts.admin)
  t.teardown(() => stream.close())
  t.equal(stream.status, 200)
  t.equal(stream.headers.get('content-type'), 'text/event-stream; charset=utf-8')

  const first = await revoke(`spiffe://${TRUST_DOMAIN}/k8s/prod/ns/a/sa/api`)
  const event = await stream.next()
  t.same(
    event,
    { id: first.cursor, event: 'revoked', data: JSON.stringify(first) },
    'a new revocation arrives; what came before the stream opened does not',
  )
  t.not(event.id, before.cursor)
  stream.close()

  // While no one listens: another revocation, and a lift.
  const second = await revoke(`spiffe://${TRUST_DOMAIN}/k8s/prod/ns/b/**`)
  const lifted = await lift(first.id)

  const resumed = await openSse(`${address}/v1/revocations/stream`, { ...sts.admin, 'last-event-id': event.id! })
  t.teardown(() => resumed.close())
  t.same(
    await resumed.next(),
    { id: second.cursor, event: 'revoked', data: JSON.stringify(second) },
    'resumes right after the last event seen',
  )
  t.same(await resumed.next(), { id: lifted.cursor, event: 'lifted', data: JSON.stringify(lifted) }, 'lifts are events too')
  const third = await revoke(`spiffe://${TRUST_DOMAIN}/k8s/prod/ns/c/**`)
  t.equal((await resumed.next()).id, third.cursor, 'and goes on live')

  const fromCursor = await openSse(`${address}/v1/revocations/stream?cursor=${before.cursor}`, sts.admin)
  t.teardown(() => fromCursor.close())
  const replay = [await fromCursor.next(), await fromCursor.next(), await fromCursor.next()]
  t.same(
    replay.map((e) => e.id),
    [second.cursor, lifted.cursor, third.cursor],
    '?cursor= replays every change after it, each in its latest state',
  )
})

t.test('the stream needs the admin token', async (t) => {
  const sts = await startTestService(t)
  const response = await sts.app.inject({ method: 'GET', url: '/v1/revocations/stream' })
  t.equal(response.statusCode, 401)
  t.equal(response.json().reason, 'admin_token_missing')
  const bad = await sts.app.inject({ method: 'GET', url: '/v1/revocations/stream?cursor=abc', headers: sts.admin })
  t.equal(bad.statusCode, 400)
  t.match(bad.json(), { reason: 'input_invalid', errors: [{ path: 'cursor' }] })
})

t.test('a stream whose admin token is revoked is closed with a final event, and delivers nothing more', async (t) => {
  const sts = await startTestService(t, { config: { limits: { adminRequestsPerMinute: 0 } } })
  const address = await sts.app.listen({ host: '127.0.0.1', port: 0 })
  const revoke = async (value: string) =>
    (
      await sts.app.inject({
        method: 'POST',
        url: '/v1/revocations',
        headers: sts.admin,
        payload: { kind: 'subject', value, reason: 'leak' },
      })
    ).json().revocation
  const created = (
    await sts.app.inject({
      method: 'POST',
      url: '/v1/admin-tokens',
      headers: sts.admin,
      payload: { name: 'resource-server', roles: ['revocations:read'] },
    })
  ).json()
  const stream = await openSse(`${address}/v1/revocations/stream`, { authorization: `Bearer ${created.token}` })
  t.teardown(() => stream.close())
  const first = await revoke(`spiffe://${TRUST_DOMAIN}/k8s/prod/ns/a/sa/api`)
  t.same(await stream.next(), { id: first.cursor, event: 'revoked', data: JSON.stringify(first) })

  const revoked = await sts.app.inject({ method: 'DELETE', url: `/v1/admin-tokens/${created.adminToken.id}`, headers: sts.admin })
  t.equal(revoked.statusCode, 200)
  // Past the window a looked-up token is trusted for, as for any other request.
  sts.clock.advance(5001)
  await revoke(`spiffe://${TRUST_DOMAIN}/k8s/prod/ns/b/sa/api`)
  t.same(
    await stream.next(),
    { event: 'closed', data: JSON.stringify({ reason: 'the admin token is not valid' }) },
    'the last event says why',
  )
  await t.rejects(stream.next(), new Error('the stream ended'), 'and the stream ends')
})

t.test('cursors beyond 2^53 keep every digit, in the list and on the stream', async (t) => {
  const sts = await startTestService(t, { config: { limits: { adminRequestsPerMinute: 0 } } })
  const address = await sts.app.listen({ host: '127.0.0.1', port: 0 })
  const db = new pg.Client({ connectionString: sts.databaseUrl })
  await db.connect()
  t.teardown(() => db.end())
  await db.query('ALTER SEQUENCE revocation_seq RESTART WITH 9007199254740993')
  const revoke = async (value: string) =>
    (
      await sts.app.inject({
        method: 'POST',
        url: '/v1/revocations',
        headers: sts.admin,
        payload: { kind: 'subject', value, reason: 'leak' },
      })
    ).json().revocation
  const first = await revoke(`spiffe://${TRUST_DOMAIN}/k8s/prod/ns/a/sa/api`)
  const second = await revoke(`spiffe://${TRUST_DOMAIN}/k8s/prod/ns/b/sa/api`)
  t.same([first.cursor, second.cursor], ['9007199254740993', '9007199254740994'])
  const listed = (await sts.app.inject({ method: 'GET', url: `/v1/revocations?since=${first.cursor}`, headers: sts.admin })).json()
  t.same(listed, { revocations: [second], cursor: second.cursor }, 'the list resumes right after the cursor')
  const stream = await openSse(`${address}/v1/revocations/stream?cursor=${first.cursor}`, sts.admin)
  t.teardown(() => stream.close())
  t.same(await stream.next(), { id: second.cursor, event: 'revoked', data: JSON.stringify(second) }, 'and so does the stream')
  const third = await revoke(`spiffe://${TRUST_DOMAIN}/k8s/prod/ns/c/sa/api`)
  t.same(await stream.next(), { id: '9007199254740995', event: 'revoked', data: JSON.stringify(third) }, 'and goes on live')
})
