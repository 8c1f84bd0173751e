import { createServer, type Server, type Socket } from 'node:net'
import t, { type Test } from 'tap'
import { ADMIN_TOKEN, TRUST_DOMAIN } from '../support/service.js'
import { freePort } from '../support/ports.js'
import { runCli, startCli } from '../support/cli-harness.js'

const TOKEN_ENV = { STS_URL: 'http://127.0.0.1:9', STS_ADMIN_TOKEN: ADMIN_TOKEN }

/** A fetch that must not be called: usage errors are found before any request. */
const noFetch = (t: Test) => ({
  fetch: (async () => {
    t.fail('no request is made')
    throw new Error('unexpected request')
  }) as typeof fetch,
})

t.test('--help at every level: exit 0, on stdout, without a token', async (t) => {
  for (const argv of [['--help'], ['-h'], ['help']]) {
    const result = await runCli(argv, {})
    t.equal(result.code, 0, argv.join(' '))
    t.equal(result.stderr, '')
    t.match(result.stdout, /^sts: the command line of the Seed STS admin API\n/)
    t.match(
      result.stdout,
      '\nexit codes:\n' +
        '  0  success\n' +
        '  1  the API refused the request or failed (4xx, 5xx); its detail is printed on stderr\n' +
        '  2  usage error: unknown command, bad or missing options, STS_ADMIN_TOKEN not set\n' +
        '  3  the service could not be reached (connection refused, DNS, timeout)\n',
      'the exit codes scripts rely on are documented',
    )
    for (const command of [
      'grants list',
      'grants show',
      'grants create',
      'grants validate',
      'grants disable',
      'revoke subject',
      'revoke token',
      'revoke grant',
      'revoke source',
      'revocations list',
      'revocations lift',
      'ledger',
      'registrations list',
      'registrations show',
      'registrations forget',
    ]) {
      t.match(result.stdout, `\n  ${command} `, `lists ${command}`)
    }
    t.match(result.stdout, /STS_ADMIN_TOKEN/)
  }
  const cases: [string[], RegExp][] = [
    [['grants', '--help'], /^usage: sts grants <command> \[options\]\n[^]*\n {2}grants create +create a grant\n/],
    [['grants', 'list', '--help'], /^usage: sts grants list \[--owner O\] \[--subject S\] .*\[--all\] \[--json\]\n/],
    [['help', 'grants', 'create'], /^usage: sts grants create --subject S --audience A [^]*\n {2}--condition name=glob /],
    [['grants', 'create', '--bogus', '--help'], /^usage: sts grants create /],
    [['revoke', 'subject', '-h'], /^usage: sts revoke subject <spiffe-id-or-glob> --reason R \[--expires-at ISO\] \[--json\]\n/],
    [['revocations', 'lift', '--help'], /^usage: sts revocations lift <id> --reason R \[--json\]\n/],
    [['ledger', '--help'], /^usage: sts ledger \[--subject S\] [^]*\n {2}--live +only tokens not yet expired\n/],
  ]
  for (const argv of [
    ['help', 'agent'],
    ['agent', '--help'],
    ['--url', 'http://x', 'agent', '-h'],
  ]) {
    const result = await runCli(argv, {})
    t.equal(result.code, 0, argv.join(' '))
    t.equal(result.stderr, '')
    t.match(result.stdout, /^usage: sts agent --config <agent\.yaml>\n\nsts agent: keep workload tokens fresh in files/, argv.join(' '))
  }
  for (const [argv, usage] of cases) {
    const result = await runCli(argv, {})
    t.equal(result.code, 0, argv.join(' '))
    t.match(result.stdout, usage, argv.join(' '))
    t.match(result.stdout, /\nExit codes: 0 success, 1 refused by the API, 2 usage error, 3 service unreachable/, argv.join(' '))
  }
})

t.test('usage errors exit 2 with every problem on stderr, before any request', async (t) => {
  const cases: [string[], string][] = [
    [[], 'sts: missing command\n'],
    [['nope'], "sts: unknown command 'nope'; see 'sts --help'\n"],
    [['--url', 'http://x', 'agent', '--config', 'a.yaml'], "sts: 'agent' takes no global options: sts agent --config <agent.yaml>\n"],
    [['grants'], 'sts: missing grants command\n'],
    [['grants', 'bogus'], "sts: unknown command 'grants bogus'; see 'sts grants --help'\n"],
    [
      ['grants', 'list', '--bogus'],
      'sts: unknown option --bogus\nusage: sts grants list [--owner O] [--subject S] [--limit N] [--cursor C] [--all] [--json]\n',
    ],
    [
      ['grants', 'list', '--owner'],
      'sts: --owner needs a value\nusage: sts grants list [--owner O] [--subject S] [--limit N] [--cursor C] [--all] [--json]\n',
    ],
    [
      ['grants', 'list', '--owner', 'a', '--owner', 'b'],
      'sts: --owner may be given once\nusage: sts grants list [--owner O] [--subject S] [--limit N] [--cursor C] [--all] [--json]\n',
    ],
    [
      ['grants', 'list', '--json=yes'],
      'sts: --json takes no value\nusage: sts grants list [--owner O] [--subject S] [--limit N] [--cursor C] [--all] [--json]\n',
    ],
    [
      ['grants', 'list', '--limit', 'ten'],
      'sts: --limit must be a whole number of at least 1, not "ten"\nusage: sts grants list [--owner O] [--subject S] [--limit N] [--cursor C] [--all] [--json]\n',
    ],
    [['grants', 'show'], 'sts: missing <id>\nusage: sts grants show <id> [--json]\n'],
    [['grants', 'show', 'a', 'b'], "sts: unexpected argument 'b'\nusage: sts grants show <id> [--json]\n"],
    [
      ['grants', 'create', '--max-ttl', '0', '--expires-at', 'tomorrow', '--condition', 'podName'],
      [
        'sts: --subject S is required',
        'sts: --owner O is required',
        'sts: --audience A is required (repeat it for more audiences)',
        'sts: --max-ttl must be a whole number of at least 1, not "0"',
        'sts: --expires-at must be an RFC 3339 time such as 2026-11-23T12:00:00Z (or a date), not "tomorrow"',
        `sts: --condition must be name=glob, e.g. --condition 'podName=api-*', not "podName"`,
        'usage: sts grants create --subject S --audience A [--audience A2]... [--scope X]... [--max-ttl N] --owner O [--description D] [--expires-at ISO] [--condition name=glob]... [--require-dpop] [--may-act glob]... [--json]',
        '',
      ].join('\n'),
    ],
    [
      ['revoke', 'subject', `spiffe://${TRUST_DOMAIN}/k8s/prod/**`],
      'sts: --reason R is required\nusage: sts revoke subject <spiffe-id-or-glob> --reason R [--expires-at ISO] [--json]\n',
    ],
    [
      ['revoke', 'token', '--reason', 'leaked'],
      'sts: missing <token>\nusage: sts revoke token <jti> --reason R [--expires-at ISO] [--json]\n',
    ],
    [['revoke', 'everything', 'x', '--reason', 'r'], "sts: unknown command 'revoke everything'; see 'sts revoke --help'\n"],
    [
      ['revocations', 'list', '--kind', 'pod'],
      'sts: --kind must be one of token, subject, grant, source, key, not "pod"\nusage: sts revocations list [--kind K] [--active] [--cursor C] [--all] [--json]\n',
    ],
    [['revocations', 'lift', 'some-id'], 'sts: --reason R is required\nusage: sts revocations lift <id> --reason R [--json]\n'],
    [
      ['ledger', '--since', '23/11/2026', '--limit', '0'],
      'sts: --since must be an RFC 3339 time such as 2026-11-23T12:00:00Z (or a date), not "23/11/2026"\nsts: --limit must be a whole number of at least 1, not "0"\nusage: sts ledger [--subject S] [--grant G] [--source X] [--audience A] [--actor ID] [--since ISO] [--until ISO] [--live] [--limit N] [--cursor C] [--all] [--json]\n',
    ],
    [['grants', 'list', '--url', 'ftp://example.org'], 'sts: --url must be an http:// or https:// URL, not ftp:\n'],
    [
      ['grants', 'list', '--url', 'not a url', '--timeout', '0'],
      'sts: --url is not a URL: "not a url"\nsts: --timeout must be a number of seconds from 0 to 600, not "0"\n',
    ],
  ]
  for (const [argv, stderr] of cases) {
    const result = await runCli(argv, TOKEN_ENV, noFetch(t))
    t.equal(result.code, 2, `sts ${argv.join(' ')}`)
    if (argv.length === 0 || (argv.length === 1 && argv[0] === 'grants')) {
      t.ok(result.stderr.endsWith(stderr), `sts ${argv.join(' ')}: help, then the problem`)
    } else {
      t.equal(result.stderr, stderr, `sts ${argv.join(' ')}`)
    }
    t.equal(result.stdout, '', 'nothing on stdout')
  }
})

t.test('STS_ADMIN_TOKEN is required, checked, and never printed', async (t) => {
  const missing = await runCli(['grants', 'list'], { STS_URL: 'http://127.0.0.1:9' }, noFetch(t))
  t.same(missing, {
    code: 2,
    stdout: '',
    stderr: 'sts: STS_ADMIN_TOKEN is not set: export the admin API token first (it is never printed)\n',
  })
  const empty = await runCli(['grants', 'list'], { STS_ADMIN_TOKEN: '' }, noFetch(t))
  t.equal(empty.code, 2)

  const secret = 'super-secret-token with a space\n'
  const malformed = await runCli(['grants', 'list'], { STS_ADMIN_TOKEN: secret }, noFetch(t))
  t.same(malformed, { code: 2, stdout: '', stderr: 'sts: STS_ADMIN_TOKEN must be printable ASCII without spaces or line breaks\n' })

  const credentials = await runCli(
    ['grants', 'list', '--url', 'https://admin:hunter2@sts.example.org'],
    { STS_ADMIN_TOKEN: ADMIN_TOKEN },
    noFetch(t),
  )
  t.equal(credentials.code, 2)
  t.notMatch(credentials.stderr, /hunter2/, 'a password in the URL is not echoed either')
})

t.test('the API refusing exits 1 and prints its problem detail', async (t) => {
  const { sts, cli, url } = await startCli(t)
  const missingId = '00000000-0000-4000-8000-000000000000'
  for (const argv of [
    ['grants', 'show', missingId],
    ['grants', 'disable', missingId],
    ['grants', 'show', missingId, '--json'],
  ]) {
    const result = await cli(...argv)
    t.same(result, { code: 1, stdout: '', stderr: `sts: no grant with id ${missingId}\n` }, `404: sts ${argv.join(' ')}`)
  }

  const bad = [
    'grants',
    'create',
    '--subject',
    'payments-api',
    '--audience',
    'ledger-api',
    '--scope',
    'read all',
    '--owner',
    'team-payments',
  ]
  const refused = await cli(...bad)
  const problem = (
    await sts.app.inject({
      method: 'POST',
      url: '/v1/grants',
      headers: sts.admin,
      payload: { subject: 'payments-api', audiences: ['ledger-api'], scopes: ['read all'], owner: 'team-payments' },
    })
  ).json()
  t.equal(problem.status, 400)
  t.same(problem.errors.map((e: { path: string }) => e.path).sort(), ['scopes.0', 'subject'])
  t.same(
    refused,
    {
      code: 1,
      stdout: '',
      stderr:
        `sts: ${problem.detail}\n` + problem.errors.map((e: { path: string; message: string }) => `  ${e.path}: ${e.message}\n`).join(''),
    },
    '400: the detail, then each invalid field',
  )

  const badCursor = await cli('grants', 'list', '--cursor', 'bogus')
  t.equal(badCursor.code, 1)
  t.match(badCursor.stderr, /^sts: .+\n/)

  const wrongToken = 'not-the-admin-token-0123456789'
  const unauthorized = await runCli(['grants', 'list'], { STS_URL: url, STS_ADMIN_TOKEN: wrongToken })
  t.same(unauthorized, { code: 1, stdout: '', stderr: 'sts: the admin token is not valid\n' }, '401')
  t.notMatch(unauthorized.stderr, wrongToken)

  const viaFlag = await runCli(['grants', 'show', missingId, '--url', url], { STS_URL: 'http://127.0.0.1:9', STS_ADMIN_TOKEN: ADMIN_TOKEN })
  t.equal(viaFlag.code, 1, '--url overrides STS_URL')
  t.equal(viaFlag.stderr, `sts: no grant with id ${missingId}\n`)
})

t.test('a service that cannot be reached exits 3', async (t) => {
  const blocked = await runCli(['grants', 'list'], { STS_URL: 'http://127.0.0.1:1', STS_ADMIN_TOKEN: ADMIN_TOKEN })
  t.equal(blocked.code, 3)
  t.match(blocked.stderr, /^sts: cannot reach the service at http:\/\/127\.0\.0\.1:1 \(.+\)\n$/)

  const port = await freePort()
  const refused = await runCli(['grants', 'list', '--url', `http://127.0.0.1:${port}`], { STS_ADMIN_TOKEN: ADMIN_TOKEN })
  t.same(refused, {
    code: 3,
    stdout: '',
    stderr: `sts: cannot reach the service at http://127.0.0.1:${port} (connect ECONNREFUSED 127.0.0.1:${port})\n`,
  })

  // .invalid never resolves (RFC 6761); a machine without a resolver times out instead: exit 3 either way.
  const dns = await runCli(['grants', 'list', '--url', 'http://sts.invalid', '--timeout', '5'], { STS_ADMIN_TOKEN: ADMIN_TOKEN })
  t.equal(dns.code, 3, 'a name that does not resolve')
  t.match(dns.stderr, /^sts: cannot reach the service at http:\/\/sts\.invalid \(.+\)\n$/)

  // A server that accepts the connection and never answers.
  const sockets: Socket[] = []
  const silent: Server = createServer((socket) => void sockets.push(socket))
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    sockets.forEach((socket) => socket.destroy())
    silent.close()
  })
  const address = silent.address() as { port: number }
  const started = Date.now()
  const timedOut = await runCli(['grants', 'list', '--timeout', '0.3'], {
    STS_URL: `http://127.0.0.1:${address.port}`,
    STS_ADMIN_TOKEN: ADMIN_TOKEN,
  })
  t.same(timedOut, {
    code: 3,
    stdout: '',
    stderr: `sts: cannot reach the service at http://127.0.0.1:${address.port} (no answer within 0.3 s)\n`,
  })
  t.ok(Date.now() - started < 5000, 'gives up after the timeout')
})
