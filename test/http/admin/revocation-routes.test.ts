import pg from 'pg'
import t from 'tap'
import { eventually } from '../../support/eventually.js'
import { JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN } from '../../support/service.js'

const SUBJECT = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`

t.test('revoke, list, read and lift; every change on the audit log', async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  const issue = async (namespace = 'payments') => {
    const response = await sts.exchange({
      grant_type: TOKEN_EXCHANGE,
      subject_token: await sts.cluster.serviceAccountToken({ namespace }),
      subject_token_type: JWT_TOKEN_TYPE,
    })
    return JSON.parse(Buffer.from(String(response.body.access_token).split('.')[1], 'base64url').toString()) as { jti: string; exp: number }
  }
  const call = (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
    sts.app.inject({ method, url, headers: sts.admin, ...(payload ? { payload } : {}) })

  const first = await issue()
  await issue()
  await issue('search')

  const created = await call('POST', '/v1/revocations', { kind: 'subject', value: SUBJECT, reason: 'credentials leaked (INC-1234)' })
  t.equal(created.statusCode, 201)
  const { revocation, liveTokensCutOff, alreadyRevoked } = created.json()
  t.equal(liveTokensCutOff, 2, 'the two live tokens of that identity')
  t.equal(alreadyRevoked, false)
  t.match(revocation, {
    kind: 'subject',
    value: SUBJECT,
    reason: 'credentials leaked (INC-1234)',
    createdBy: 'bootstrap',
    expiresAt: null,
    liftedAt: null,
    cursor: /^\d+$/,
  })
  t.equal(created.headers.location, `/v1/revocations/${revocation.id}`)

  const again = await call('POST', '/v1/revocations', { kind: 'subject', value: SUBJECT, reason: 'paged twice' })
  t.equal(again.statusCode, 200, 'revoking again answers the standing revocation')
  t.match(again.json(), { alreadyRevoked: true, revocation: { id: revocation.id, reason: 'credentials leaked (INC-1234)' } })

  const token = await call('POST', '/v1/revocations', {
    kind: 'token',
    value: (await issue('search')).jti,
    reason: 'token pasted in a ticket',
  })
  t.equal(token.statusCode, 201)
  t.equal(token.json().liveTokensCutOff, 1)
  t.equal(token.json().revocation.expiresAt, new Date(first.exp * 1000).toISOString(), 'a token revocation expires with the token')

  const listed = (await call('GET', '/v1/revocations')).json()
  t.same(
    listed.revocations.map((r: { id: string }) => r.id),
    [revocation.id, token.json().revocation.id],
  )
  t.equal(listed.cursor, token.json().revocation.cursor)
  t.same(
    (await call('GET', `/v1/revocations?since=${listed.cursor}`)).json(),
    { revocations: [], cursor: listed.cursor },
    'nothing new since the cursor',
  )
  t.same((await call('GET', '/v1/revocations?kind=token')).json().revocations.length, 1)
  const paged = (await call('GET', '/v1/revocations?limit=1')).json()
  t.equal(paged.nextCursor, paged.cursor)
  t.same((await call('GET', `/v1/revocations?limit=1&cursor=${paged.nextCursor}`)).json().revocations[0].id, token.json().revocation.id)

  t.same((await call('GET', `/v1/revocations/${revocation.id}`)).json().revocation, revocation)

  const noReason = await call('DELETE', `/v1/revocations/${revocation.id}`, {})
  t.equal(noReason.statusCode, 400, 'a lift must say why')
  sts.clock.advance(60_000)
  const lifted = await call('DELETE', `/v1/revocations/${revocation.id}`, { reason: 'credentials rotated' })
  t.equal(lifted.statusCode, 200)
  t.match(lifted.json().revocation, {
    liftedBy: 'bootstrap',
    liftReason: 'credentials rotated',
    liftedAt: new Date(sts.clock.now()).toISOString(),
  })
  t.ok(Number(lifted.json().revocation.cursor) > Number(listed.cursor), 'a lift is a new change for pollers')
  t.same(
    (await call('GET', `/v1/revocations?since=${listed.cursor}`)).json().revocations.map((r: { id: string }) => r.id),
    [revocation.id],
  )
  const twice = await call('DELETE', `/v1/revocations/${revocation.id}`, { reason: 'again' })
  t.equal(twice.statusCode, 404, 'a lifted revocation cannot be lifted twice')
  t.match(twice.json(), { title: 'Not found', detail: `no standing revocation with id ${revocation.id}`, reason: 'revocation_not_found' })
  t.same(
    (await call('GET', '/v1/revocations?active=true')).json().revocations.map((r: { id: string }) => r.id),
    [token.json().revocation.id],
  )

  const { items: audit } = await sts.services.audit.list({ targetType: 'revocation', limit: 10 })
  t.same(
    audit.map((e) => [e.action, e.targetId, e.actor]),
    [
      ['revocation.create', revocation.id, 'bootstrap'],
      ['revocation.create', token.json().revocation.id, 'bootstrap'],
      ['revocation.lift', revocation.id, 'bootstrap'],
    ],
  )
  t.match(audit[2], { before: { liftedAt: null }, after: { liftReason: 'credentials rotated' } })
})

t.test('bad revocations are refused with every problem named', async (t) => {
  const sts = await startTestService(t)
  const post = (payload: object) => sts.app.inject({ method: 'POST', url: '/v1/revocations', headers: sts.admin, payload })
  const cases: [object, string[]][] = [
    [{ kind: 'subject', value: 'payments-api', reason: 'x' }, ['value']],
    [{ kind: 'token', value: 'not-a-jti', reason: 'x' }, ['value']],
    [{ kind: 'grant', value: '1; DROP TABLE grants', reason: 'x' }, ['value']],
    [{ kind: 'everything', value: 'x', reason: 'x' }, ['kind']],
    [{ kind: 'source', value: 'k8s:prod' }, ['reason']],
    [{ kind: 'source', value: 'k8s:prod', reason: 'x', expiresAt: 'tomorrow' }, ['expiresAt']],
    [{ kind: 'source', value: 'k8s:prod', reason: 'x', extra: 1 }, ['(body)']],
  ]
  for (const [payload, paths] of cases) {
    const response = await post(payload)
    t.equal(response.statusCode, 400, JSON.stringify(payload))
    t.same(
      response.json().errors.map((e: { path: string }) => e.path),
      paths,
    )
  }
  const past = await post({ kind: 'source', value: 'k8s:prod', reason: 'x', expiresAt: new Date(sts.clock.now() - 1).toISOString() })
  t.same(past.json().errors, [{ path: 'expiresAt', message: 'must be in the future' }])
  t.equal(
    (await sts.app.inject({ method: 'GET', url: '/v1/revocations/00000000-0000-4000-8000-000000000000', headers: sts.admin })).statusCode,
    404,
  )
  t.equal(
    (await sts.app.inject({ method: 'DELETE', url: '/v1/revocations/not-a-uuid', headers: sts.admin, payload: { reason: 'x' } }))
      .statusCode,
    400,
    'not an id: refused before any store',
  )
  t.equal((await sts.app.inject({ method: 'GET', url: '/v1/revocations' })).statusCode, 401)
  t.same(
    (await sts.services.audit.list({ limit: 10 })).items.map((entry) => entry.action),
    ['key.create'],
    'nothing refused is on the audit log (only the first signing key, made at start)',
  )
})

t.test('two responders revoking the same thing at once: one revocation, both told', async (t) => {
  const sts = await startTestService(t)
  const payload = { kind: 'source', value: 'k8s:prod:node:node-a', reason: 'node compromised' }
  const answers = await Promise.all(
    [1, 2, 3].map(() => sts.app.inject({ method: 'POST', url: '/v1/revocations', headers: sts.admin, payload })),
  )
  t.same(answers.map((a) => a.statusCode).sort(), [200, 200, 201])
  t.equal(new Set(answers.map((a) => a.json().revocation.id)).size, 1, 'all name the same revocation')
})

t.test('revoking again after a revocation expired makes a new one, and the old one is lifted on the record', async (t) => {
  const sts = await startTestService(t)
  const payload = { kind: 'source', value: 'k8s:prod', reason: 'maintenance', expiresAt: new Date(sts.clock.now() + 1000).toISOString() }
  const first = (await sts.app.inject({ method: 'POST', url: '/v1/revocations', headers: sts.admin, payload })).json().revocation
  sts.clock.advance(2000)
  const second = await sts.app.inject({
    method: 'POST',
    url: '/v1/revocations',
    headers: sts.admin,
    payload: { kind: 'source', value: 'k8s:prod', reason: 'again' },
  })
  t.equal(second.statusCode, 201)
  t.not(second.json().revocation.id, first.id)
  t.match(await sts.services.revocationService.get(first.id), { liftedBy: 'seed-sts', liftReason: 'expired' })
  const { items: audit } = await sts.services.audit.list({ targetType: 'revocation', limit: 10 })
  t.same(
    audit.map((e) => [e.action, e.actor]),
    [
      ['revocation.create', 'bootstrap'],
      ['revocation.lift', 'seed-sts'],
      ['revocation.create', 'bootstrap'],
    ],
  )
})

t.test('a revocation in force is answered 201 even when its live tokens cannot be counted', async (t) => {
  // A budget the test's own cancel comes well within.
  const sts = await startTestService(t, { config: { revocations: { countBudgetMs: 60_000 } } })
  await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  const request = { grant_type: TOKEN_EXCHANGE, subject_token: await sts.cluster.serviceAccountToken(), subject_token_type: JWT_TOKEN_TYPE }
  t.equal((await sts.exchange(request)).statusCode, 200)

  // A real fault after the commit: the ledger is locked, so counting waits until it is cancelled (as a
  // statement timeout would), while the revocation itself touches no ledger row and commits.
  const locker = new pg.Client({ connectionString: sts.databaseUrl })
  const watcher = new pg.Client({ connectionString: sts.databaseUrl })
  await Promise.all([locker.connect(), watcher.connect()])
  t.teardown(() => Promise.all([locker.end(), watcher.end()]))
  await locker.query('BEGIN')
  await locker.query('LOCK TABLE ledger_entries IN ACCESS EXCLUSIVE MODE')
  const answer = sts.app.inject({
    method: 'POST',
    url: '/v1/revocations',
    headers: sts.admin,
    payload: { kind: 'subject', value: SUBJECT, reason: 'credentials leaked (INC-1234)' },
  })
  const cancelled = await eventually(t, async () => {
    const { rows } = await watcher.query(
      "SELECT pg_cancel_backend(pid) AS ok FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'SELECT (SELECT count(*)%FROM ledger_entries%'",
    )
    return rows.length > 0
  })
  t.ok(cancelled, 'the count was waiting on the ledger, after the revocation was committed')
  const created = await answer
  await locker.query('ROLLBACK')
  t.equal(created.statusCode, 201)
  const { revocation, ...rest } = created.json()
  t.same(rest, {
    liveTokensCutOff: null,
    liveTokensCutOffUnavailable:
      'the live tokens could not be counted in time (the token ledger did not answer); the revocation is in force all the same',
    alreadyRevoked: false,
  })
  t.match(revocation, { kind: 'subject', value: SUBJECT, liftedAt: null })
  t.same(
    (await sts.exchange(request)).body,
    { error: 'invalid_grant', error_description: `the identity ${SUBJECT} is revoked`, error_reason: 'revoked' },
    'and it is enforced',
  )
  t.same(
    (await sts.app.inject({ method: 'GET', url: `/v1/revocations/${revocation.id}`, headers: sts.admin })).json(),
    { revocation },
    'and on record',
  )
})
