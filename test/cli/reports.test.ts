import t from 'tap'
import { aligned, cells, startCli } from '../support/cli-harness.js'

/** `sts report least-privilege` against the real service: GET /v1/reports/least-privilege. */

const SUBJECT = 'spiffe://example.org/k8s/prod/ns/payments/sa/api'

t.test('the least-privilege report, as a table and whole', async (t) => {
  const harness = await startCli(t)
  const { cli, json } = harness
  const grant = await harness.sts.createGrant({
    subject: SUBJECT,
    audiences: ['ledger-api', 'billing'],
    scopes: ['ledger:read', 'ledger:write'],
    owner: 'team-payments',
    description: 'The payments API reads the ledger.',
  })
  await harness.issueToken('ledger-api', {}, { scope: 'ledger:read' })
  await harness.sts.services.inventoryRecorder.flush()

  const table = await cli('report', 'least-privilege', '--days', '30', '--expiring-within-days', '0')
  t.equal(table.code, 0, table.stderr)
  t.ok(aligned(table.stdout), `aligned:\n${table.stdout}`)
  t.same(cells(table.stdout), [
    ['FINDING', 'GRANT', 'SUBJECT', 'DETAIL', 'CHANGES'],
    ['unused-access', grant.id, SUBJECT, 'unused audiences: billing; unused scopes: ledger:write', `PUT /v1/grants/${String(grant.id)}`],
    ['ownerless-grant', grant.id, SUBJECT, 'no live admin token is scoped to team-payments', '-'],
  ])

  const whole = await json<{
    days: number
    findings: { kind: string; changes?: { body?: { audiences: string[]; scopes: string[] } }[] }[]
  }>('report', 'least-privilege')
  t.equal(whole.days, 30, 'the default window')
  t.same(whole.findings[0]?.changes?.[0]?.body && { ...whole.findings[0].changes[0].body }, {
    subject: SUBJECT,
    conditions: {},
    audiences: ['ledger-api'],
    scopes: ['ledger:read'],
    maxTtlSeconds: 3600,
    owner: 'team-payments',
    description: 'The payments API reads the ledger.',
    expiresAt: grant.expiresAt,
    enabled: true,
    requireDpop: false,
    mayAct: [],
  })

  const bad = await cli('report', 'least-privilege', '--days', '0')
  t.not(bad.code, 0)
  t.match(bad.stderr, /--days/)
})
