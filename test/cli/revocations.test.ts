import t from 'tap'
import { JWT_TOKEN_TYPE, NOW, TOKEN_EXCHANGE, TRUST_DOMAIN } from '../support/service.js'
import type { ServiceAccountTokenOptions } from '../support/cluster.js'
import { aligned, cells, startCli, type CliHarness } from '../support/cli-harness.js'

/**
 * `sts revoke` and `sts revocations` against the real service and the revocation API contract:
 * POST /v1/revocations {kind, value, reason, expiresAt?} -> 201 {revocation, liveTokensCutOff},
 * GET /v1/revocations?kind=&active=true&cursor= -> {revocations, nextCursor?},
 * DELETE /v1/revocations/{id} {reason} -> {revocation}.
 */

const API = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`
const WORKER = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/worker`
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'

interface Revocation {
  id: string
  kind: string
  value: string
  reason: string
  createdAt: string
  createdBy: string
  expiresAt: string | null
  liftedAt: string | null
  liftedBy: string | null
  liftReason: string | null
}

/** The status of a token exchange: what the workload notices of a revocation. */
async function exchangeStatus(harness: CliHarness, audience: string, options: ServiceAccountTokenOptions = {}): Promise<number> {
  const subjectToken = await harness.sts.cluster.serviceAccountToken(options)
  const response = await harness.sts.exchange({
    grant_type: TOKEN_EXCHANGE,
    subject_token: subjectToken,
    subject_token_type: JWT_TOKEN_TYPE,
    audience,
  })
  return response.statusCode
}

t.test('revoke a subject, see it listed, lift it', async (t) => {
  const harness = await startCli(t)
  const { sts, cli, json } = harness
  await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/*`,
    audiences: ['ledger-api'],
    owner: 'team-payments',
  })
  await harness.issueToken('ledger-api', { serviceAccount: 'api' })
  await harness.issueToken('ledger-api', { serviceAccount: 'worker' })

  const reason = 'incident 42: token leaked in a log shipped to a vendor'
  const revoked = await cli('revoke', 'subject', API, '--reason', reason)
  t.equal(revoked.code, 0, revoked.stderr)
  t.equal(revoked.stderr, '')
  const id = new RegExp(`^revoked subject ${API.replace(/[/.]/g, '\\$&')} \\(id (${UUID})\\): 1 live token cut off\\n$`).exec(
    revoked.stdout,
  )?.[1]
  t.ok(id, `says what was revoked, its id and what it cut off: ${revoked.stdout}`)
  t.equal(await exchangeStatus(harness, 'ledger-api', { serviceAccount: 'api' }), 400, 'the revoked identity gets no token')
  t.equal(await exchangeStatus(harness, 'ledger-api', { serviceAccount: 'worker' }), 200, 'another one still does')

  const listed = await json<{ revocations: Revocation[]; nextCursor?: string }>('revocations', 'list')
  t.match(listed.revocations, [
    {
      id,
      kind: 'subject',
      value: API,
      reason,
      createdAt: new Date(NOW).toISOString(),
      createdBy: String,
      expiresAt: null,
      liftedAt: null,
      liftedBy: null,
      liftReason: null,
    },
  ])
  t.equal(listed.revocations.length, 1)
  t.notOk('nextCursor' in listed)

  const table = await cli('revocations', 'list')
  t.equal(table.code, 0, table.stderr)
  t.ok(aligned(table.stdout), `aligned:\n${table.stdout}`)
  const rows = cells(table.stdout)
  t.same(rows[0], ['ID', 'KIND', 'VALUE', 'CREATED', 'BY', 'EXPIRES', 'LIFTED', 'REASON'])
  t.same(rows[1], [id, 'subject', API, '2026-11-23T12:00:00Z', listed.revocations[0].createdBy, '-', '-', `${reason.slice(0, 39)}…`])

  const twice = await cli('revoke', 'subject', API, '--reason', 'paged twice')
  t.same(
    twice,
    { code: 0, stderr: '', stdout: `already revoked subject ${API} (id ${id}) since 2026-11-23T12:00:00Z: ${reason}\n` },
    'revoking again is no error',
  )

  t.equal(cells((await cli('revocations', 'list', '--kind', 'subject', '--active')).stdout).length, 2)
  t.same(await cli('revocations', 'list', '--kind', 'token'), { code: 0, stdout: '', stderr: 'no revocations\n' })

  // Less than the revocation state's staleness bound (5 s): the service's clock is fixed, its heartbeat is not.
  sts.clock.advance(2_000)
  const lifted = await cli('revocations', 'lift', id!, '--reason', 'key rotated, contained')
  t.same(lifted, { code: 0, stdout: `lifted revocation ${id} (subject ${API})\n`, stderr: '' })
  t.equal(await exchangeStatus(harness, 'ledger-api', { serviceAccount: 'api' }), 200, 'a lifted revocation no longer refuses')
  t.same(await cli('revocations', 'list', '--active'), { code: 0, stdout: '', stderr: 'no revocations\n' })
  const after = await json<{ revocations: Revocation[] }>('revocations', 'list')
  t.match(after.revocations, [
    { id, liftedAt: new Date(NOW + 2_000).toISOString(), liftedBy: String, liftReason: 'key rotated, contained' },
  ])

  const again = await cli('revocations', 'lift', id!, '--reason', 'twice', '--json')
  t.equal(again.code, 1, 'a lifted revocation cannot be lifted again')
})

t.test('revoke a token, a grant and a source; --json; --expires-at', async (t) => {
  const harness = await startCli(t)
  const { sts, cli, json } = harness
  await sts.createGrant({ subject: API, audiences: ['ledger-api'], owner: 'team-payments' })
  const workerGrant = await sts.createGrant({ subject: WORKER, audiences: ['audit-api'], owner: 'team-payments' })
  await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/batch`,
    audiences: ['ledger-api'],
    owner: 'team-payments',
  })
  const apiJti = await harness.issueToken('ledger-api', { serviceAccount: 'api' })
  await harness.issueToken('audit-api', { serviceAccount: 'worker', node: { name: 'node-b', uid: 'b' } })
  await harness.issueToken('ledger-api', { serviceAccount: 'batch', node: { name: 'node-c', uid: 'c' } })

  const token = await cli('revoke', 'token', apiJti, '--reason', 'seen on a pastebin')
  t.match(token, { code: 0, stderr: '', stdout: new RegExp(`^revoked token ${apiJti} \\(id ${UUID}\\): 1 live token cut off\\n$`) })

  const grant = await cli('revoke', 'grant', workerGrant.id as string, '--reason', 'grant too broad', '--json')
  t.equal(grant.code, 0, grant.stderr)
  const result = JSON.parse(grant.stdout)
  t.match(result, {
    revocation: { id: String, kind: 'grant', value: workerGrant.id, reason: 'grant too broad', expiresAt: null, liftedAt: null },
    liveTokensCutOff: 1,
  })
  t.equal(await exchangeStatus(harness, 'audit-api', { serviceAccount: 'worker' }), 400, 'the revoked grant no longer grants')

  const until = new Date(NOW + 3_600_000).toISOString()
  const source = await cli('revoke', 'source', 'k8s:prod:node:node-c', '--reason', 'node compromised', '--expires-at', until)
  t.match(source, {
    code: 0,
    stderr: '',
    stdout: new RegExp(`^revoked source k8s:prod:node:node-c \\(id ${UUID}\\): 1 live token cut off\\n$`),
  })
  t.equal(await exchangeStatus(harness, 'ledger-api', { serviceAccount: 'batch', node: { name: 'node-c', uid: 'c' } }), 400)
  t.equal(
    await exchangeStatus(harness, 'ledger-api', { serviceAccount: 'batch', node: { name: 'node-d', uid: 'd' } }),
    200,
    'the same workload on another node still gets tokens',
  )

  const listed = await json<{ revocations: Revocation[] }>('revocations', 'list', '--kind', 'source')
  t.match(listed.revocations, [{ kind: 'source', value: 'k8s:prod:node:node-c', expiresAt: until }])
  t.equal(listed.revocations.length, 1)
  t.same((await json<{ revocations: Revocation[] }>('revocations', 'list', '--active')).revocations.map((r) => r.kind).sort(), [
    'grant',
    'source',
    'token',
  ])
})

t.test('revocations list --all follows nextCursor past the first page', async (t) => {
  const { sts, cli, json } = await startCli(t)
  const values: string[] = []
  for (let i = 0; i < 105; i++) {
    const value = `k8s:prod:pod:${String(i).padStart(3, '0')}`
    values.push(value)
    const response = await sts.app.inject({
      method: 'POST',
      url: '/v1/revocations',
      headers: sts.admin,
      payload: { kind: 'source', value, reason: 'drill' },
    })
    t.equal(response.statusCode, 201, value)
  }
  const firstPage = await json<{ revocations: Revocation[]; nextCursor?: string }>('revocations', 'list')
  t.ok(firstPage.nextCursor, 'one page does not hold 105')
  const page = await cli('revocations', 'list')
  t.match(page.stderr, /^more revocations: add --all, or --cursor \S+\n$/)
  const all = await json<{ revocations: Revocation[]; nextCursor?: string }>('revocations', 'list', '--all')
  t.same(all.revocations.map((r) => r.value).sort(), values)
  t.notOk('nextCursor' in all)
  t.equal(cells((await cli('revocations', 'list', '--all')).stdout).length, 106, 'a header and 105 rows')
})

t.test('the API refusing a revocation exits 1 with its detail', async (t) => {
  const { sts, cli } = await startCli(t)
  const cases: [string[], { method: 'POST' | 'DELETE'; url: string; payload: Record<string, unknown> }][] = [
    [
      ['revoke', 'token', 'not-a-jti', '--reason', 'r'],
      { method: 'POST', url: '/v1/revocations', payload: { kind: 'token', value: 'not-a-jti', reason: 'r' } },
    ],
    [
      ['revoke', 'subject', 'payments-api', '--reason', 'r'],
      { method: 'POST', url: '/v1/revocations', payload: { kind: 'subject', value: 'payments-api', reason: 'r' } },
    ],
    [
      ['revocations', 'lift', '00000000-0000-4000-8000-000000000000', '--reason', 'r'],
      { method: 'DELETE', url: '/v1/revocations/00000000-0000-4000-8000-000000000000', payload: { reason: 'r' } },
    ],
  ]
  for (const [argv, request] of cases) {
    const direct = await sts.app.inject({ ...request, headers: sts.admin })
    t.ok(direct.statusCode >= 400 && direct.statusCode < 500, `the API refuses ${argv.join(' ')} (${direct.statusCode})`)
    const problem = direct.json()
    const result = await cli(...argv)
    t.same(
      result,
      {
        code: 1,
        stdout: '',
        stderr:
          `sts: ${problem.detail}\n` +
          (problem.errors ?? []).map((e: { path: string; message: string }) => `  ${e.path}: ${e.message}\n`).join(''),
      },
      `sts ${argv.join(' ')}`,
    )
  }
})
