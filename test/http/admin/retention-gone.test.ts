import t from 'tap'
import { partitionOfName } from '../../../src/audit/audit-partitions.js'
import { SqlRevocationLog } from '../../../src/revocation/sql-revocation-log.js'
import { openSse } from '../../support/sse.js'
import { startTestService, TRUST_DOMAIN } from '../../support/service.js'

const DAY = 86_400_000

t.test('positions before what retention kept are answered 410 Gone, with the reason and what to do', async (t) => {
  const sts = await startTestService(t, { config: { limits: { adminRequestsPerMinute: 0 } } })
  const revoke = async (value: string) =>
    (
      await sts.app.inject({
        method: 'POST',
        url: '/v1/revocations',
        headers: sts.admin,
        payload: { kind: 'subject', value: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/${value}/**`, reason: 'leak' },
      })
    ).json().revocation
  const get = async (url: string, headers: Record<string, string> = {}) => {
    const response = await sts.app.inject({ method: 'GET', url, headers: { ...sts.admin, ...headers } })
    return { status: response.statusCode, body: response.json() }
  }
  const problem = (instance: string, detail: string, reason: string) => ({
    type: 'about:blank',
    title: 'Gone',
    status: 410,
    detail,
    instance,
    reason,
  })

  const old = await revoke('old')
  const lifted = (
    await sts.app.inject({ method: 'DELETE', url: `/v1/revocations/${old.id}`, headers: sts.admin, payload: { reason: 'clear' } })
  ).json().revocation
  const kept = await revoke('kept')
  sts.clock.advance(8 * DAY)
  t.equal((await sts.services.retention.runOnce()).revocationsPruned, 1, 'the revocation lifted 8 days ago (retention: 7)')

  t.test('polling and the stream', async (t) => {
    const pruned = (cursor: string) =>
      `changes after position ${cursor} are no longer all kept: revocations up to position ${lifted.cursor} were pruned by retention ` +
      '(revocations.retentionDays); resynchronise from a full listing (GET /v1/revocations without a cursor), then poll or stream from its cursor'
    t.same(await get(`/v1/revocations?since=${old.cursor}`), {
      status: 410,
      body: problem('/v1/revocations', pruned(old.cursor), 'revocation_cursor_pruned'),
    })
    t.same(await get('/v1/revocations/stream', { 'last-event-id': old.cursor }), {
      status: 410,
      body: problem('/v1/revocations/stream', pruned(old.cursor), 'revocation_cursor_pruned'),
    })
    t.same((await get(`/v1/revocations/stream?cursor=${old.cursor}`)).body.reason, 'revocation_cursor_pruned')

    const full = await get('/v1/revocations')
    t.same(full, { status: 200, body: { revocations: [kept], cursor: kept.cursor } }, 'the full listing to resynchronise from')
    t.same(await get(`/v1/revocations?since=${lifted.cursor}`), { status: 200, body: { revocations: [kept], cursor: kept.cursor } })

    const address = await sts.app.listen({ host: '127.0.0.1', port: 0 })
    const stream = await openSse(`${address}/v1/revocations/stream`, { ...sts.admin, 'last-event-id': full.body.cursor })
    t.teardown(() => stream.close())
    t.equal(stream.status, 200, 'the stream opens from the listing cursor')
    const next = await revoke('next')
    t.same(await stream.next(), { id: next.cursor, event: 'revoked', data: JSON.stringify(next) })
  })

  t.test('the audit log', async (t) => {
    const entries = (await get('/v1/audit')).body.entries as { id: string; at: string; action: string; targetId: string }[]
    t.same(
      entries.map((e) => e.action),
      // The first signing key, made at start, then the test's own changes.
      ['key.create', 'revocation.create', 'revocation.lift', 'revocation.create', 'revocation.create'],
    )
    // Past the migration's partition of everything older (its name says up to when) and a day more
    // than retention: it goes, and no later partition (each a month long) is wholly before the cutoff.
    const [{ name }] = await sts.services.database.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'audit_log'::regclass AND c.relname LIKE 'audit_log_before_%'`,
    )
    const bound = partitionOfName(name)!.to
    const dropped = entries.filter((e) => new Date(e.at) < bound)
    const kept = entries.filter((e) => new Date(e.at) >= bound)
    sts.clock.set(bound.getTime() + 401 * DAY)
    const later = await revoke('later')
    t.same((await sts.services.retention.runOnce()).auditPartitionsDropped, [name])

    const watermark = dropped.at(-1)!.id
    t.same(await get(`/v1/audit?cursor=${entries[0].id}`), {
      status: 410,
      body: problem(
        '/v1/audit',
        `the audit log no longer holds every entry after cursor ${entries[0].id}: entries up to ${watermark} were removed by retention ` +
          '(audit.retentionDays); list again without a cursor',
        'audit_cursor_pruned',
      ),
    })
    const now = (await get('/v1/audit')).body.entries as { id: string; targetId: string }[]
    t.same(
      now.map((e) => e.targetId),
      [...kept.map((e) => e.targetId), later.id],
      'what retention kept',
    )
    t.same((await get(`/v1/audit?cursor=${watermark}`)).body.entries, now, 'a cursor at the watermark missed nothing')
  })
})

t.test('a stream that falls behind what retention kept while open ends with a gone event', async (t) => {
  const sts = await startTestService(t, { config: { limits: { adminRequestsPerMinute: 0 } } })
  const address = await sts.app.listen({ host: '127.0.0.1', port: 0 })
  const stream = await openSse(`${address}/v1/revocations/stream`, sts.admin)
  t.teardown(() => stream.close())
  const revoke = (value: string) =>
    sts.app.inject({
      method: 'POST',
      url: '/v1/revocations',
      headers: sts.admin,
      payload: { kind: 'subject', value: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/${value}/**`, reason: 'leak' },
    })
  // Once the stream has sent this, it reads again only when woken.
  await revoke('warm')
  const position = (await stream.next()).id!

  // A change the stream has not read yet (written past the bus, so nothing wakes it), pruned at once.
  const log = new SqlRevocationLog(sts.services.database)
  const unseen = await log.transaction(async (tx) => {
    const revocation = await log.insert(tx, {
      kind: 'token',
      value: 'jti-unseen',
      reason: 'leak',
      createdAt: new Date(sts.clock.now() - 20 * DAY),
      createdBy: 'alice',
      expiresAt: null,
    })
    return (await log.lift(tx, revocation.id, new Date(sts.clock.now() - 10 * DAY), 'alice', 'clear'))!
  })
  t.equal((await sts.services.retention.runOnce()).revocationsPruned, 1)

  // The next change wakes the stream, which finds its position passed.
  await revoke('x')
  t.same(await stream.next(), {
    event: 'gone',
    data: JSON.stringify({
      reason: 'revocation_cursor_pruned',
      detail:
        `changes after position ${position} are no longer all kept: revocations up to position ${unseen.seq} were pruned by retention ` +
        '(revocations.retentionDays); resynchronise from a full listing (GET /v1/revocations without a cursor), then poll or stream from its cursor',
      cursor: position,
    }),
  })
  await t.rejects(stream.next(), /the stream ended/)
})
