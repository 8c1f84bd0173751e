import t from 'tap'
import { NOW, TRUST_DOMAIN } from '../support/service.js'
import { aligned, cells, startCli } from '../support/cli-harness.js'

/**
 * `sts ledger` against the real service and the ledger API contract:
 * GET /v1/ledger?subject=&grant=&source=&audience=&since=&until=&live=true&limit=&cursor=
 * -> {entries: [{jti, subject, attestor, attestorKind, attestationFingerprint, sources, audience,
 *    scopes, grantIds, issuedAt, expiresAt, live, clientAddress, requestId}], nextCursor?}
 */

const API = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`
const WORKER = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/worker`
const iso = (millis: number) => new Date(millis).toISOString()

interface Entry {
  jti: string
  subject: string
  grantIds: string[]
  live: boolean
  [field: string]: unknown
}
type Page = { entries: Entry[]; nextCursor?: string }

t.test('sts ledger: every issued token, filtered, in table and JSON form, paged', async (t) => {
  const harness = await startCli(t)
  const { sts, cli, json } = harness
  const apiGrant = await sts.createGrant({ subject: API, audiences: ['ledger-api'], scopes: ['ledger:read'], owner: 'team-payments' })
  const workerGrant = await sts.createGrant({ subject: WORKER, audiences: ['audit-api'], owner: 'team-payments' })

  // One token at NOW living 1 s, two more 2 s later (living 300 s): then the first is expired, the others live.
  // (Not minutes later: the service fails closed when its revocation state looks 5 s stale on its fixed clock.)
  const early = await harness.issueToken('ledger-api', { serviceAccount: 'api' }, { expires_in: '1' })
  sts.clock.advance(2_000)
  const worker = await harness.issueToken('audit-api', { serviceAccount: 'worker', node: { name: 'node-b', uid: 'b' } })
  const late = await harness.issueToken('ledger-api', { serviceAccount: 'api' })

  const all = await json<Page>('ledger')
  t.same(all.entries.map((e) => e.jti).sort(), [early, worker, late].sort())
  t.notOk('nextCursor' in all)
  const first = all.entries.find((e) => e.jti === early)
  t.match(first, {
    jti: early,
    subject: API,
    attestor: 'prod',
    attestorKind: 'kubernetes',
    attestationFingerprint: /^[A-Za-z0-9_-]{43}$/,
    sources: ['k8s:prod', 'k8s:prod:node:node-a', String],
    audience: 'ledger-api',
    scopes: ['ledger:read'],
    grantIds: [apiGrant.id],
    issuedAt: iso(NOW),
    expiresAt: iso(NOW + 1_000),
    live: false,
    clientAddress: String,
    requestId: String,
  })
  t.equal(all.entries.find((e) => e.jti === late)?.live, true)

  const jtis = async (...argv: string[]) => (await json<Page>('ledger', ...argv)).entries.map((e) => e.jti).sort()
  t.same(await jtis('--subject', API), [early, late].sort(), '--subject')
  t.same(await jtis('--grant', workerGrant.id as string), [worker], '--grant')
  t.same(await jtis('--source', 'k8s:prod:node:node-b'), [worker], '--source')
  t.same(await jtis('--audience', 'ledger-api'), [early, late].sort(), '--audience')
  t.same(await jtis('--live'), [worker, late].sort(), '--live')
  t.same(await jtis('--since', iso(NOW + 1_000)), [worker, late].sort(), '--since')
  t.same(await jtis('--until', iso(NOW + 1_000)), [early], '--until')
  t.same(await jtis('--since', '2026-11-23', '--subject', API, '--live'), [late], 'filters combine; a date is its midnight')

  const table = await cli('ledger')
  t.equal(table.code, 0, table.stderr)
  t.equal(table.stderr, '')
  t.ok(aligned(table.stdout), `aligned:\n${table.stdout}`)
  const rows = cells(table.stdout)
  t.same(rows[0], ['JTI', 'ISSUED', 'EXPIRES', 'LIVE', 'SUBJECT', 'AUDIENCE', 'SCOPES', 'CLIENT'])
  t.equal(rows.length, 4)
  t.match(
    rows.find((row) => row[0] === early),
    [early, '2026-11-23T12:00:00Z', '2026-11-23T12:00:01Z', 'no', API, 'ledger-api', 'ledger:read', String],
  )
  t.match(
    rows.find((row) => row[0] === worker),
    [worker, '2026-11-23T12:00:02Z', '2026-11-23T12:05:02Z', 'yes', WORKER, 'audit-api', '-', String],
  )

  const onePage = await cli('ledger', '--limit', '1')
  t.equal(cells(onePage.stdout).length, 2, 'a header and one row')
  const cursor = /^more ledger entries: add --all, or --cursor (\S+)\n$/.exec(onePage.stderr)?.[1]
  t.ok(cursor, onePage.stderr)
  t.equal((await json<Page>('ledger', '--limit', '1', '--cursor', cursor!)).entries.length, 1)
  const paged = await json<Page>('ledger', '--limit', '1', '--all')
  t.same(paged.entries.map((e) => e.jti).sort(), [early, worker, late].sort(), '--all follows nextCursor')
  t.notOk('nextCursor' in paged)

  t.same(await cli('ledger', '--subject', `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/nobody/sa/none`), {
    code: 0,
    stdout: '',
    stderr: 'no ledger entries\n',
  })
})
