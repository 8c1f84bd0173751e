import { createServer, type IncomingMessage } from 'node:http'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import t from 'tap'
import { startCli } from '../../support/cli-harness.js'
import { eventually } from '../../support/eventually.js'
import { TRUST_DOMAIN } from '../../support/service.js'

/**
 * The hash chain end to end (README, "Tamper evidence"): a real service issuing real tokens, its
 * anchor and export against local HTTP stand-ins, `POST /v1/ledger:verify` and `sts ledger verify`.
 */

/** Far past the migration and its day of rolling restart, so every row issued is checked. */
const NOW = Date.UTC(2030, 5, 15, 12, 0, 0)
const API = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`

interface StandIn {
  url: string
  bodies: { contentType: string; body: string }[]
  /** The status it answers with. */
  status: number
}

async function standIn(t: Test, status = 204): Promise<StandIn> {
  const state: StandIn = { url: '', bodies: [], status }
  const server = createServer((request: IncomingMessage, response) => {
    let body = ''
    request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')))
    request.on('end', () => {
      state.bodies.push({ contentType: String(request.headers['content-type']), body })
      response.statusCode = state.status
      response.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  state.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return state
}

function tempFile(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sts-export-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'ledger.jsonl')
}

t.test('anchored heads, exported events, and a verification that finds a truncated tail only against an anchored head', async (t) => {
  const anchor = await standIn(t)
  const siem = await standIn(t)
  const file = tempFile(t)
  const logLines: string[] = []
  const harness = await startCli(t, {
    now: NOW,
    logLines,
    config: {
      ledger: { anchor: { intervalSeconds: 1, webhookUrl: anchor.url }, export: { file, webhookUrl: siem.url } },
    },
  })
  const { sts, cli, json } = harness
  await sts.createGrant({ subject: API, audiences: ['ledger-api'], scopes: ['ledger:read'], owner: 'team-payments' })
  const jtis = [await harness.issueToken('ledger-api'), await harness.issueToken('ledger-api'), await harness.issueToken('ledger-api')]

  const clean = await json<Record<string, unknown>>('ledger', 'verify')
  t.same(
    { intact: clean.intact, checked: clean.checked, findings: clean.findings },
    { intact: true, checked: { chains: 1, batches: 3, rows: 3 }, findings: [] },
  )

  // The anchor: the webhook, and the log line, each carrying chain:seq:hash of the last batch.
  const posted = await eventually(t, () => anchor.bodies.map((b) => JSON.parse(b.body) as { heads: { head: string; seq: number }[] }), {
    until: (bodies) => bodies.some((body) => body.heads.some((head) => head.seq === 3)),
    what: 'the anchor webhook to be told seq 3',
  })
  const head = posted.flatMap((body) => body.heads).find((h) => h.seq === 3)?.head ?? ''
  t.match(head, /^[0-9a-f-]{36}:3:[0-9a-f]{64}$/)
  t.equal(anchor.bodies[0]?.contentType, 'application/json')
  t.ok(
    logLines.some((line) => line.includes('ledger chain head anchored') && line.includes(head)),
    'the head is on the log as it was anchored',
  )
  const scraped = await sts.app.inject({ method: 'GET', url: '/metrics' })
  t.match(scraped.body, `sts_ledger_chain_head_seq{chain="${head.split(':')[0]}"} 3`)

  // The export: one JSON line per token, with its batch, in the file and at the webhook; never a token.
  const lines = await eventually(t, () => readFileSync(file, 'utf8').trim().split('\n'), {
    until: (l) => l.filter((line) => line.includes('"ledger.entry"')).length === 3,
    what: 'three ledger lines in the export file',
  })
  const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((e) => e.type === 'ledger.entry')
  t.same(
    entries.map((e) => ({ jti: e.jti, seq: e.seq, hashed: /^[0-9a-f]{64}$/.test(String(e.batchHash)) })),
    jtis.map((jti, i) => ({ jti, seq: i + 1, hashed: true })),
  )
  t.ok(
    lines.some((line) => line.includes('"type":"audit"') && line.includes('"grant.create"')),
    'the grant made is exported as an audit event',
  )
  t.notOk(
    lines.some((line) => line.includes('access_token') || line.includes('eyJ')),
    'no token in the export',
  )
  await eventually(t, () => siem.bodies.map((b) => b.body).join(''), {
    until: (body) => jtis.every((jti) => body.includes(jti)),
    what: 'the SIEM webhook to receive every jti',
  })
  t.equal(siem.bodies[0]?.contentType, 'application/x-ndjson')

  // The tail cut in the database: only the anchored head can tell.
  const chain = head.split(':')[0]
  await sts.services.database.query('DELETE FROM ledger_rows WHERE jti = $1', [jtis[2]])
  await sts.services.database.query('DELETE FROM ledger_batches WHERE chain_id = $1 AND seq = 3', [chain])
  // (The partitions migrations 011 and 023 made around the real date, four each, are long past retention on
  // this clock: dropped, with no batch.)
  const retention = 'retention: 8 partitions dropped; 0 batches lost 0 rows to it\n'
  const blind = await cli('ledger', 'verify')
  t.same({ code: blind.code, stdout: blind.stdout }, { code: 0, stdout: `intact: 1 chains, 2 batches, 2 rows checked\n${retention}` })
  const seen = await cli('ledger', 'verify', '--head', head)
  t.same(
    { code: seen.code, stdout: seen.stdout },
    {
      code: 4,
      stdout: `NOT INTACT: 1 chains, 2 batches, 2 rows checked\n  chain-truncated: chain ${chain} holds seq 2, anchored seq 3\n${retention}`,
    },
  )
  const bad = await cli('ledger', 'verify', '--head', 'chain:3:abc')
  t.equal(bad.code, 2)
})

t.test('the verification endpoint: its role, a team token refused, bad bodies a 400', async (t) => {
  const harness = await startCli(t, { now: NOW })
  const { sts } = harness
  const bad = await sts.app.inject({
    method: 'POST',
    url: '/v1/ledger:verify',
    headers: sts.admin,
    payload: { since: '2030-06-15T12:00:00Z', until: '2030-06-15T11:00:00Z', heads: ['nope'], extra: 1 },
  })
  t.equal(bad.statusCode, 400)
  t.same((bad.json() as { errors: { path: string }[] }).errors.map((e) => e.path).sort(), ['(body)', 'heads.0', 'until'].sort())
  const team = await sts.app.inject({
    method: 'POST',
    url: '/v1/admin-tokens',
    headers: sts.admin,
    payload: { name: 'payments-team', roles: ['ledger:read'], scope: { owners: ['team-payments'], subjectPrefixes: [API] } },
  })
  t.equal(team.statusCode, 201, team.body)
  const refused = await sts.app.inject({
    method: 'POST',
    url: '/v1/ledger:verify',
    headers: { authorization: `Bearer ${String((team.json() as { token: string }).token)}` },
    payload: {},
  })
  t.same(
    { status: refused.statusCode, reason: (refused.json() as { reason: string }).reason },
    { status: 403, reason: 'out_of_team_scope' },
  )
  const empty = await sts.app.inject({ method: 'POST', url: '/v1/ledger:verify', headers: sts.admin })
  t.same({ status: empty.statusCode, intact: (empty.json() as { intact: boolean }).intact }, { status: 200, intact: true })
})

t.test('an export sink that fails or is full never holds up issuance: its drops are counted', async (t) => {
  const siem = await standIn(t, 500)
  const logLines: string[] = []
  const harness = await startCli(t, { now: NOW, logLines, config: { ledger: { export: { webhookUrl: siem.url, queueSize: 1 } } } })
  const { sts } = harness
  await sts.createGrant({ subject: API, audiences: ['ledger-api'], owner: 'team-payments' })
  for (let i = 0; i < 4; i++) await harness.issueToken('ledger-api')
  const metrics = await eventually(t, async () => (await sts.app.inject({ method: 'GET', url: '/metrics' })).body, {
    until: (body) => /sts_ledger_export_failures_total\{sink="webhook"\} [1-9]/.test(body),
    what: 'a failed write counted',
  })
  t.match(metrics, /sts_ledger_export_dropped_total\{sink="webhook"\} [1-9]/)
  t.ok(logLines.some((line) => line.includes('the ledger export dropped events')))
  t.notOk(
    logLines.some((line) => line.includes(siem.url)),
    'the webhook URL is never logged',
  )
})

t.test('embedded (PGlite): tokens issued by the service are chained and verify', async (t) => {
  const harness = await startCli(t, { now: NOW, backend: 'embedded' })
  await harness.sts.createGrant({ subject: API, audiences: ['ledger-api'], owner: 'team-payments' })
  await harness.issueToken('ledger-api')
  await harness.issueToken('ledger-api')
  const verified = await harness.json<Record<string, unknown>>('ledger', 'verify')
  t.same(
    { intact: verified.intact, checked: verified.checked, findings: verified.findings },
    { intact: true, checked: { chains: 1, batches: 2, rows: 2 }, findings: [] },
  )
})
