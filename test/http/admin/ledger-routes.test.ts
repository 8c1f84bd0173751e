import { createHash } from 'node:crypto'
import { pino } from 'pino'
import t from 'tap'
import { LedgerPartitions } from '../../../src/ledger/ledger-partitions.js'
import { LedgerRetention } from '../../../src/ledger/ledger-retention.js'
import { uuidV7Millis } from '../../../src/lib/uuid-v7.js'
import { ADMIN_TOKEN, JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN, type TestService } from '../../support/service.js'

const PAYMENTS = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa`
const POD_API = { name: 'api-7d9f8b-x2x4q', uid: '9a8b7c6d-0000-4000-8000-000000000002' }
const POD_WORKER = { name: 'worker-5c6d7e-q8w9e', uid: '9a8b7c6d-0000-4000-8000-000000000003' }
const NODE_B = { name: 'node-b', uid: '1b2c3d4e-0000-4000-8000-000000000004' }

interface Issued {
  jti: string
  attestation: string
  requestId: string
}

/** Real tokens through /oauth2/token, each with a request id of its own so its ledger row says so. */
async function issue(
  sts: TestService,
  requestId: string,
  serviceAccount: 'api' | 'worker',
  params: Record<string, string>,
): Promise<Issued> {
  const attestation = await sts.cluster.serviceAccountToken(
    serviceAccount === 'api' ? { pod: POD_API } : { serviceAccount, pod: POD_WORKER, node: NODE_B },
  )
  const response = await sts.app.inject({
    method: 'POST',
    url: '/oauth2/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-request-id': requestId },
    payload: new URLSearchParams({
      grant_type: TOKEN_EXCHANGE,
      subject_token: attestation,
      subject_token_type: JWT_TOKEN_TYPE,
      ...params,
    }).toString(),
  })
  if (response.statusCode !== 200) throw new Error(`no token: ${response.statusCode} ${response.body}`)
  const claims = JSON.parse(Buffer.from(String(response.json().access_token).split('.')[1], 'base64url').toString('utf8')) as {
    jti: string
  }
  return { jti: claims.jti, attestation, requestId }
}

t.test('the incident view: who got which token, when, from which attestation, and which are live', async (t) => {
  const sts = await startTestService(t)
  const start = sts.clock.now()
  const payments = await sts.createGrant({
    subject: `${PAYMENTS}/*`,
    audiences: ['ledger-api'],
    scopes: ['ledger:read'],
    owner: 'team-payments',
  })
  const queue = await sts.createGrant({
    subject: `${PAYMENTS}/worker`,
    audiences: ['queue'],
    scopes: ['queue:consume'],
    owner: 'team-payments',
  })

  const api = await issue(sts, 'req-api', 'api', { audience: 'ledger-api' })
  sts.clock.advance(1000)
  const workerLedger = await issue(sts, 'req-worker-ledger', 'worker', { audience: 'ledger-api' })
  sts.clock.advance(1000)
  const workerQueue = await issue(sts, 'req-worker-queue', 'worker', { audience: 'queue', expires_in: '60' })
  sts.clock.advance(120_000) // the queue token (60 s) has expired; the others (300 s) have not

  const search = async (query: string) => {
    const response = await sts.app.inject({ method: 'GET', url: `/v1/ledger${query}`, headers: sts.admin })
    t.equal(response.statusCode, 200, query)
    return response.json<{ entries: Record<string, unknown>[]; nextCursor?: string }>()
  }
  const jtis = async (query: string) => (await search(query)).entries.map((e) => e.jti)

  const one = await search(`?subject=${encodeURIComponent(`${PAYMENTS}/api`)}`)
  t.same(
    one,
    {
      entries: [
        {
          jti: api.jti,
          subject: `${PAYMENTS}/api`,
          attestor: 'prod',
          attestorKind: 'kubernetes',
          // What was signed (header.payload), not the attestation's spelling or its signature.
          attestationFingerprint: createHash('sha256')
            .update(api.attestation.slice(0, api.attestation.lastIndexOf('.')))
            .digest('base64url'),
          sources: ['k8s:prod', 'k8s:prod:node:node-a', `k8s:prod:pod:${POD_API.uid}`],
          audience: 'ledger-api',
          scopes: ['ledger:read'],
          grantIds: [payments.id],
          issuedAt: new Date(start).toISOString(),
          expiresAt: new Date(start + 300_000).toISOString(),
          clientAddress: '127.0.0.1',
          requestId: 'client:req-api',
          kid: sts.services.keys.signingKey().kid,
          live: true,
        },
      ],
    },
    'a whole entry, exactly',
  )

  t.same(await jtis(''), [workerQueue.jti, workerLedger.jti, api.jti], 'everything, newest first')
  t.same(await jtis(`?subject=${encodeURIComponent(`${PAYMENTS}/*`)}`), [workerQueue.jti, workerLedger.jti, api.jti], 'a subject glob')
  t.same(await jtis(`?subject=${encodeURIComponent(`spiffe://${TRUST_DOMAIN}/k8s/*/worker`)}`), [], '* does not cross /')
  t.same(
    await jtis(`?subject=${encodeURIComponent(`spiffe://${TRUST_DOMAIN}/k8s/**/worker`)}`),
    [workerQueue.jti, workerLedger.jti],
    '** does',
  )
  t.same(await jtis(`?subject=${encodeURIComponent(`${PAYMENTS}/ap`)}`), [], 'no prefix match')
  t.same(await jtis(`?grant=${queue.id}`), [workerQueue.jti], 'by grant')
  t.same(await jtis(`?grant=${payments.id}`), [workerLedger.jti, api.jti])
  t.same(await jtis('?source=k8s:prod:node:node-b'), [workerQueue.jti, workerLedger.jti], 'by attestation source')
  t.same(await jtis(`?source=k8s:prod:pod:${POD_API.uid}`), [api.jti])
  t.same(await jtis('?audience=queue'), [workerQueue.jti], 'by audience')

  const live = await search('?live=true')
  t.same(
    live.entries.map((e) => [e.jti, e.live]),
    [
      [workerLedger.jti, true],
      [api.jti, true],
    ],
    'live: what has not expired by the clock',
  )
  const expired = await search('?live=false')
  t.same(
    expired.entries.map((e) => [e.jti, e.live, e.expiresAt]),
    [[workerQueue.jti, false, new Date(start + 62_000).toISOString()]],
    'live=false: what has',
  )

  const at = (ms: number) => encodeURIComponent(new Date(start + ms).toISOString())
  t.same(await jtis(`?since=${at(1000)}`), [workerQueue.jti, workerLedger.jti], 'since is inclusive')
  t.same(await jtis(`?until=${at(1000)}`), [api.jti], 'until is exclusive')
  t.same(await jtis(`?since=${at(1000)}&until=${at(2000)}`), [workerLedger.jti])
  t.same(
    await jtis(`?subject=${encodeURIComponent(`${PAYMENTS}/*`)}&source=k8s:prod:node:node-b&live=true`),
    [workerLedger.jti],
    'filters together',
  )

  const first = await search('?limit=2')
  t.same(
    first.entries.map((e) => e.jti),
    [workerQueue.jti, workerLedger.jti],
  )
  t.match(first.nextCursor, /^[A-Za-z0-9_-]+$/, 'an opaque base64url cursor')
  const last = await search(`?limit=2&cursor=${first.nextCursor}`)
  t.same(last, { entries: [one.entries[0]] }, 'the last page, with no nextCursor')
})

t.test('a cursor into entries retention has dropped is 410 Gone, telling the client to start again', async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({ subject: `${PAYMENTS}/*`, audiences: ['ledger-api'], owner: 'team-payments' })
  const start = sts.clock.now()
  const older = await issue(sts, 'req-1', 'api', { audience: 'ledger-api' })
  sts.clock.advance(1000)
  await issue(sts, 'req-2', 'api', { audience: 'ledger-api' })
  t.equal(uuidV7Millis(older.jti), start, "the jti is a v7 UUID of the token's issue time")

  const first = await sts.app.inject({ method: 'GET', url: '/v1/ledger?limit=1', headers: sts.admin })
  const cursor = first.json<{ nextCursor: string }>().nextCursor
  t.type(cursor, 'string')
  sts.clock.advance(92 * 86_400_000)
  const dropped = await new LedgerRetention(new LedgerPartitions(sts.services.database, 'day'), 90, pino({ level: 'silent' })).apply(
    new Date(sts.clock.now()),
  )
  t.ok(
    dropped.some((partition) => partition.from.getTime() <= start && start < partition.to.getTime()),
    "the tokens' day is dropped",
  )

  const gone = await sts.app.inject({ method: 'GET', url: `/v1/ledger?limit=1&cursor=${cursor}`, headers: sts.admin })
  t.equal(gone.statusCode, 410)
  t.equal(gone.headers['content-type'], 'application/problem+json; charset=utf-8')
  const keptFrom = dropped.at(-1)?.to.toISOString()
  t.same(gone.json(), {
    type: 'about:blank',
    title: 'Gone',
    status: 410,
    detail:
      `the cursor points at ${new Date(start + 1000).toISOString()}, and the ledger keeps nothing issued before ${keptFrom} ` +
      '(ledger.retentionDays): list again from the first page, without a cursor',
    instance: '/v1/ledger',
    reason: 'ledger_cursor_expired',
  })
  const again = await sts.app.inject({ method: 'GET', url: '/v1/ledger?limit=1', headers: sts.admin })
  t.same(again.json(), { entries: [] }, 'the first page answers what is kept')
})

t.test('the ledger API refuses callers without the admin token', async (t) => {
  const sts = await startTestService(t)
  for (const headers of [{}, { authorization: 'Bearer not-the-admin-token' }, { authorization: `Basic ${ADMIN_TOKEN}` }]) {
    const response = await sts.app.inject({ method: 'GET', url: `/v1/ledger?subject=${encodeURIComponent(`${PAYMENTS}/*`)}`, headers })
    t.equal(response.statusCode, 401)
    t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
    t.match(response.json(), {
      type: 'about:blank',
      title: 'Unauthorized',
      status: 401,
      instance: '/v1/ledger',
      reason: /^admin_token_(missing|invalid)$/,
    })
  }
  const bad = await sts.app.inject({ method: 'GET', url: '/v1/ledger?colour=red', headers: {} })
  t.equal(bad.statusCode, 401, 'the token is checked before the query')
})

t.test('a query that is not valid is a 400 problem naming every parameter at fault', async (t) => {
  const sts = await startTestService(t)
  const problem = async (query: string) => {
    const response = await sts.app.inject({ method: 'GET', url: `/v1/ledger?${query}`, headers: sts.admin })
    t.equal(response.statusCode, 400, query)
    t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
    return response.json()
  }

  t.same(await problem('colour=red'), {
    type: 'about:blank',
    title: 'Invalid request',
    status: 400,
    detail: 'the query is not valid: (query): Unrecognized key: "colour"',
    instance: '/v1/ledger',
    reason: 'input_invalid',
    errors: [{ path: '(query)', message: 'Unrecognized key: "colour"' }],
  })
  t.same(await problem('cursor=bogus'), {
    type: 'about:blank',
    title: 'Invalid request',
    status: 400,
    detail: 'the cursor is not one this API handed out',
    instance: '/v1/ledger',
    reason: 'input_invalid',
    errors: [{ path: 'cursor', message: 'invalid cursor' }],
  })
  const SPIFFE = 'must be a SPIFFE ID or a glob of them, e.g. spiffe://example.org/k8s/prod/ns/payments/sa/*'
  const cases: [string, { path: string; message: string }[]][] = [
    ['subject=payments-api', [{ path: 'subject', message: SPIFFE }]],
    [`subject=${encodeURIComponent(`${PAYMENTS}/api with space`)}`, [{ path: 'subject', message: SPIFFE }]],
    ['subject=**', [{ path: 'subject', message: SPIFFE }]],
    ['grant=not-a-uuid', [{ path: 'grant', message: 'must be a grant id (a UUID)' }]],
    [
      'since=yesterday&live=yes',
      [
        { path: 'since', message: 'Invalid ISO datetime' },
        { path: 'live', message: 'Invalid option: expected one of "true"|"false"' },
      ],
    ],
    ['since=2026-11-23T12:00:00Z&until=2026-11-23T11:00:00Z', [{ path: 'until', message: 'must be after since' }]],
    [
      'since=2026-11-23T12:00:00Z&until=2026-11-23T12:00:00Z&limit=0',
      [
        { path: 'limit', message: 'Too small: expected number to be >=1' },
        { path: 'until', message: 'must be after since' },
      ],
    ],
    ['limit=501', [{ path: 'limit', message: 'Too big: expected number to be <=500' }]],
    [
      'source=&audience=',
      [
        { path: 'source', message: 'Too small: expected string to have >=1 characters' },
        { path: 'audience', message: 'Too small: expected string to have >=1 characters' },
      ],
    ],
    [
      `subject=${encodeURIComponent(`${PAYMENTS}/a`)}&subject=${encodeURIComponent(`${PAYMENTS}/b`)}`,
      [{ path: 'subject', message: 'Invalid input: expected string, received array' }],
    ],
  ]
  for (const [query, errors] of cases) t.same((await problem(query)).errors, errors, query)
})

t.test('the ledger API is rate limited with the rest of the admin API', async (t) => {
  const sts = await startTestService(t, { config: { limits: { adminRequestsPerMinute: 2 } } })
  const statuses: number[] = []
  for (let i = 0; i < 3; i++) statuses.push((await sts.app.inject({ method: 'GET', url: '/v1/ledger', headers: sts.admin })).statusCode)
  t.same(statuses, [200, 200, 429])
})

t.test('each search is on record: what was looked for and how much was found, never the cursor', async (t) => {
  const lines: string[] = []
  const sts = await startTestService(t, { logLines: lines })
  const subject = `${PAYMENTS}/*`
  const response = await sts.app.inject({
    method: 'GET',
    url: `/v1/ledger?subject=${encodeURIComponent(subject)}&live=true&limit=5`,
    headers: sts.admin,
  })
  t.equal(response.statusCode, 200)
  const line = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'ledger searched')
  t.match(line, { statusCode: 200, query: { subject, live: 'true', limit: 5 }, entries: 0 })
  t.notOk(line && 'cursor' in (line.query as object))
})
