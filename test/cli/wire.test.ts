import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { runCli } from '../support/cli-harness.js'

/**
 * The CLI's side of the wire, byte for byte, against a stand-in HTTP server: what it sends for each
 * command (the contract of openapi.yaml and of the revocation and ledger APIs), and what it makes of
 * answers the real service does not give on purpose (a proxy's HTML 502, a body that is not JSON, a
 * cursor that never ends). What the real service answers is tested in the other files of test/cli.
 */

const TOKEN = 'wire-test-admin-token-0123456789'

interface Recorded {
  method: string
  path: string
  query: Record<string, string>
  headers: IncomingMessage['headers']
  body: unknown
}

interface Answer {
  status?: number
  body?: unknown
  headers?: Record<string, string>
}

async function stub(t: Test, answer: (request: Recorded) => Answer): Promise<{ url: string; requests: Recorded[] }> {
  const requests: Recorded[] = []
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = ''
    req.on('data', (chunk) => (text += chunk))
    req.on('end', () => {
      const url = new URL(req.url!, 'http://stub')
      const recorded = {
        method: req.method!,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body: text === '' ? undefined : JSON.parse(text),
      }
      requests.push(recorded)
      const { status = 200, body = {}, headers = {} } = answer(recorded)
      const payload = typeof body === 'string' ? body : JSON.stringify(body)
      res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/html' : 'application/json', ...headers }).end(payload)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }
}

const GRANT = {
  id: 'g-2',
  subject: 'spiffe://example.org/x',
  conditions: {},
  audiences: ['a'],
  scopes: [],
  maxTtlSeconds: 3600,
  owner: 'o',
  description: '',
  expiresAt: '2027-02-21T12:00:00.000Z',
  enabled: true,
  version: 1,
  createdAt: '2026-11-23T12:00:00.000Z',
  updatedAt: '2026-11-23T12:00:00.000Z',
}

const REVOCATION = {
  id: '6f1c0d2e-0000-4000-8000-00000000000a',
  kind: 'subject',
  value: 'spiffe://example.org/k8s/prod/ns/payments/**',
  reason: 'incident 42',
  createdAt: '2026-11-23T12:00:00.000Z',
  createdBy: 'admin',
  expiresAt: null,
  liftedAt: null,
  liftedBy: null,
  liftReason: null,
}

t.test('each command sends the request of the contract, with the bearer token', async (t) => {
  const cases: { argv: string[]; request: Partial<Recorded>; answer: Answer; stdout: string }[] = [
    {
      argv: ['revoke', 'subject', REVOCATION.value, '--reason', 'incident 42', '--expires-at', '2026-11-24'],
      request: {
        method: 'POST',
        path: '/v1/revocations',
        query: {},
        body: { kind: 'subject', value: REVOCATION.value, reason: 'incident 42', expiresAt: '2026-11-24T00:00:00Z' },
      },
      answer: { status: 201, body: { revocation: REVOCATION, liveTokensCutOff: 3 } },
      stdout: `revoked subject ${REVOCATION.value} (id ${REVOCATION.id}): 3 live tokens cut off\n`,
    },
    {
      argv: ['revoke', 'token', '0b7c6d5e-0000-4000-8000-000000000001', '--reason', 'pasted in a ticket'],
      request: {
        method: 'POST',
        path: '/v1/revocations',
        body: { kind: 'token', value: '0b7c6d5e-0000-4000-8000-000000000001', reason: 'pasted in a ticket' },
      },
      answer: {
        status: 201,
        body: { revocation: { ...REVOCATION, kind: 'token', value: '0b7c6d5e-0000-4000-8000-000000000001' }, liveTokensCutOff: 0 },
      },
      stdout: `revoked token 0b7c6d5e-0000-4000-8000-000000000001 (id ${REVOCATION.id}): 0 live tokens cut off\n`,
    },
    {
      argv: ['revoke', 'subject', REVOCATION.value, '--reason', 'incident 42'],
      request: { method: 'POST', path: '/v1/revocations', body: { kind: 'subject', value: REVOCATION.value, reason: 'incident 42' } },
      answer: {
        status: 201,
        body: {
          revocation: REVOCATION,
          liveTokensCutOff: null,
          liveTokensCutOffUnavailable: 'the live tokens could not be counted in time',
        },
      },
      stdout: `revoked subject ${REVOCATION.value} (id ${REVOCATION.id}): in force, but the live tokens could not be counted in time\n`,
    },
    {
      argv: ['revoke', 'grant', 'g-1', '--reason', 'too broad'],
      request: { method: 'POST', path: '/v1/revocations', body: { kind: 'grant', value: 'g-1', reason: 'too broad' } },
      answer: { status: 201, body: { revocation: { ...REVOCATION, kind: 'grant', value: 'g-1' }, liveTokensCutOff: 1 } },
      stdout: `revoked grant g-1 (id ${REVOCATION.id}): 1 live token cut off\n`,
    },
    {
      argv: ['revoke', 'source', 'k8s:prod:node:node-a', '--reason', 'node compromised'],
      request: {
        method: 'POST',
        path: '/v1/revocations',
        body: { kind: 'source', value: 'k8s:prod:node:node-a', reason: 'node compromised' },
      },
      answer: { status: 201, body: { revocation: { ...REVOCATION, kind: 'source', value: 'k8s:prod:node:node-a' }, liveTokensCutOff: 12 } },
      stdout: `revoked source k8s:prod:node:node-a (id ${REVOCATION.id}): 12 live tokens cut off\n`,
    },
    {
      argv: ['revocations', 'lift', REVOCATION.id, '--reason', 'contained'],
      request: { method: 'DELETE', path: `/v1/revocations/${REVOCATION.id}`, query: {}, body: { reason: 'contained' } },
      answer: { body: { revocation: { ...REVOCATION, liftedAt: '2026-11-23T13:00:00.000Z', liftedBy: 'admin', liftReason: 'contained' } } },
      stdout: `lifted revocation ${REVOCATION.id} (subject ${REVOCATION.value})\n`,
    },
    {
      argv: ['revocations', 'list', '--kind', 'source', '--active'],
      request: { method: 'GET', path: '/v1/revocations', query: { kind: 'source', active: 'true' }, body: undefined },
      answer: { body: { revocations: [] } },
      stdout: '',
    },
    {
      argv: ['revocations', 'list'],
      request: { method: 'GET', path: '/v1/revocations', query: {} },
      answer: { body: { revocations: [] } },
      stdout: '',
    },
    {
      argv: [
        'ledger',
        '--subject',
        'spiffe://example.org/k8s/prod/**',
        '--grant',
        'g-1',
        '--source',
        'k8s:prod',
        '--audience',
        'ledger-api',
        '--since',
        '2026-11-23',
        '--until',
        '2026-11-24T06:00:00+01:00',
        '--live',
        '--limit',
        '50',
        '--cursor',
        'abc',
      ],
      request: {
        method: 'GET',
        path: '/v1/ledger',
        query: {
          subject: 'spiffe://example.org/k8s/prod/**',
          grant: 'g-1',
          source: 'k8s:prod',
          audience: 'ledger-api',
          since: '2026-11-23T00:00:00Z',
          until: '2026-11-24T06:00:00+01:00',
          live: 'true',
          limit: '50',
          cursor: 'abc',
        },
      },
      answer: { body: { entries: [] } },
      stdout: '',
    },
    {
      argv: ['ledger'],
      request: { method: 'GET', path: '/v1/ledger', query: {} },
      answer: { body: { entries: [] } },
      stdout: '',
    },
    {
      argv: ['grants', 'create', '--subject', 'spiffe://example.org/x', '--audience', 'a', '--owner', 'o'],
      request: { method: 'POST', path: '/v1/grants', body: { subject: 'spiffe://example.org/x', audiences: ['a'], owner: 'o' } },
      answer: { status: 201, body: GRANT },
      stdout: 'created grant g-2\nid             g-2\n',
    },
    {
      argv: ['grants', 'show', 'a/../b?c'],
      request: { method: 'GET', path: '/v1/grants/a%2F..%2Fb%3Fc', query: {} },
      answer: { body: { ...GRANT, id: 'a/../b?c' } },
      stdout: 'id             a/../b?c\n',
    },
  ]
  for (const { argv, request, answer, stdout } of cases) {
    const service = await stub(t, () => answer)
    const result = await runCli(argv, { STS_URL: service.url, STS_ADMIN_TOKEN: TOKEN })
    const name = `sts ${argv.join(' ')}`
    t.equal(result.code, 0, `${name}: ${result.stderr}`)
    t.equal(service.requests.length, 1, name)
    const sent = service.requests[0]
    t.match(sent, request, name)
    if ('body' in request) t.same(sent.body, request.body, `${name}: exactly this body`)
    if ('query' in request) t.same(sent.query, request.query, `${name}: exactly this query`)
    t.equal(sent.headers.authorization, `Bearer ${TOKEN}`, name)
    t.equal(sent.headers['content-type'], sent.body === undefined ? undefined : 'application/json', name)
    t.ok(result.stdout.startsWith(stdout), `${name}: ${result.stdout}`)
  }
})

t.test('--all asks for each page with the cursor of the one before, and stops on a cursor seen twice', async (t) => {
  const pages: Record<string, unknown> = {
    '': { revocations: [REVOCATION], nextCursor: 'c1' },
    c1: { revocations: [{ ...REVOCATION, id: 'r2' }], nextCursor: 'c2' },
    c2: { revocations: [{ ...REVOCATION, id: 'r3' }] },
  }
  const service = await stub(t, (request) => ({ body: pages[request.query.cursor ?? ''] }))
  const env = { STS_URL: service.url, STS_ADMIN_TOKEN: TOKEN }
  const all = await runCli(['revocations', 'list', '--all', '--json'], env)
  t.equal(all.code, 0, all.stderr)
  t.same(
    service.requests.map((r) => r.query.cursor),
    [undefined, 'c1', 'c2'],
  )
  t.same(JSON.parse(all.stdout), { revocations: [REVOCATION, { ...REVOCATION, id: 'r2' }, { ...REVOCATION, id: 'r3' }] })

  const loop = await stub(t, () => ({ body: { entries: [], nextCursor: 'again' } }))
  const stuck = await runCli(['ledger', '--all'], { STS_URL: loop.url, STS_ADMIN_TOKEN: TOKEN })
  t.same(stuck, { code: 1, stdout: '', stderr: 'sts: the service returned cursor again twice; stopped paging\n' })
  t.equal(loop.requests.length, 2)
})

t.test('answers that are not the API: exit 1, saying what came back', async (t) => {
  const cases: [Answer, string][] = [
    [
      { status: 502, body: '<html><body>Bad Gateway</body></html>', headers: { 'x-request-id': 'req-123' } },
      'sts: the service answered 502 Bad Gateway\nsts: request id req-123 (quote it when reporting this)\n',
    ],
    [
      {
        status: 503,
        body: {
          type: 'about:blank',
          title: 'Service unavailable',
          status: 503,
          detail: 'the ledger cannot be reached',
          instance: '/v1/ledger',
        },
        headers: { 'x-request-id': 'req-9' },
      },
      'sts: the ledger cannot be reached\nsts: request id req-9 (quote it when reporting this)\n',
    ],
    [
      { status: 429, body: { title: 'Too many requests', status: 429, detail: 'rate limit exceeded: retry in 12 s' } },
      'sts: rate limit exceeded: retry in 12 s\n',
    ],
    [{ status: 404, body: '' }, 'sts: the service answered 404 Not Found\n'],
    [{ status: 200, body: 'not json' }, 'sts: the service answered 200 with a body that is not JSON\n'],
    [{ status: 200, body: { something: 'else' } }, 'sts: the service answered JSON without a "entries" list\n'],
  ]
  for (const [answer, stderr] of cases) {
    const service = await stub(t, () => answer)
    const result = await runCli(['ledger'], { STS_URL: service.url, STS_ADMIN_TOKEN: TOKEN })
    t.same(result, { code: 1, stdout: '', stderr }, `${answer.status} ${JSON.stringify(answer.body)}`)
  }
})

t.test('a base URL may carry a path prefix', async (t) => {
  const service = await stub(t, () => ({ body: { grants: [] } }))
  const result = await runCli(['grants', 'list'], { STS_URL: `${service.url}/sts/`, STS_ADMIN_TOKEN: TOKEN })
  t.equal(result.code, 0, result.stderr)
  t.equal(service.requests[0]?.path, '/sts/v1/grants')
})

t.test('values from the service cannot break a row or send escape sequences to the terminal', async (t) => {
  const service = await stub(t, () => ({ body: { revocations: [{ ...REVOCATION, reason: 'line one\nINJECTED\u001b[2J' }] } }))
  const result = await runCli(['revocations', 'list'], { STS_URL: service.url, STS_ADMIN_TOKEN: TOKEN })
  t.equal(result.code, 0)
  t.equal(result.stdout.split('\n').length, 3, 'a header, one row, the final newline')
  t.match(result.stdout, 'line one\\nINJECTED\\u001b[2J')
  t.notMatch(result.stdout, '\u001b')
})
