import t from 'tap'
import { NOW, TRUST_DOMAIN } from '../support/service.js'
import { aligned, cells, startCli } from '../support/cli-harness.js'

const PAYMENTS = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/*`
const SEARCH = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/search/sa/indexer`
const LONG = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/a-namespace-with-a-rather-long-name/sa/the-batch-reconciler`
const AGENTS = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/agents/sa/*`
const GATEWAY = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/edge/sa/gateway`
const iso = (millis: number) => new Date(millis).toISOString().replace(/\.000Z$/, 'Z')

t.test('grants create prints the grant it created, every field, and the service stored exactly that', async (t) => {
  const { sts, cli } = await startCli(t)
  const created = await cli(
    'grants',
    'create',
    '--subject',
    PAYMENTS,
    '--audience',
    'ledger-api',
    '--audience',
    'audit-api',
    '--scope',
    'ledger:read',
    '--scope',
    'ledger:write',
    '--max-ttl',
    '600',
    '--owner',
    'team-payments',
    '--description',
    'payments reach the ledger',
    '--expires-at',
    '2027-01-01T00:00:00Z',
    '--condition',
    'podName=api-*',
    '--condition',
    'nodeName=node-a',
    '--condition',
    'nodeName=node-b',
    '--require-dpop',
    '--may-act',
    AGENTS,
    '--may-act',
    GATEWAY,
  )
  t.equal(created.code, 0, created.stderr)
  t.equal(created.stderr, '')
  const id = /^created grant ([0-9a-f-]{36})\n/.exec(created.stdout)?.[1]
  t.ok(id, 'the first line names the new grant')
  t.equal(
    created.stdout,
    [
      `created grant ${id}`,
      `id             ${id}`,
      `subject        ${PAYMENTS}`,
      'conditions     podName=api-* nodeName=node-a,node-b',
      'audiences      ledger-api,audit-api',
      'scopes         ledger:read,ledger:write',
      'maxTtlSeconds  600',
      'requireDpop    true',
      `mayAct         ${AGENTS},${GATEWAY}`,
      'owner          team-payments',
      'description    payments reach the ledger',
      'enabled        true',
      'expiresAt      2027-01-01T00:00:00Z',
      'version        1',
      `createdAt      ${iso(NOW)}`,
      `updatedAt      ${iso(NOW)}`,
      '',
    ].join('\n'),
  )
  const stored = (await sts.app.inject({ method: 'GET', url: `/v1/grants/${id}`, headers: sts.admin })).json()
  t.match(stored, {
    subject: PAYMENTS,
    conditions: { podName: 'api-*', nodeName: ['node-a', 'node-b'] },
    audiences: ['ledger-api', 'audit-api'],
    scopes: ['ledger:read', 'ledger:write'],
    maxTtlSeconds: 600,
    requireDpop: true,
    mayAct: [AGENTS, GATEWAY],
    owner: 'team-payments',
    description: 'payments reach the ledger',
    expiresAt: '2027-01-01T00:00:00.000Z',
    enabled: true,
  })
})

t.test('grants create --json prints the API answer; what is left out takes the service defaults', async (t) => {
  const { sts, cli } = await startCli(t)
  const created = await cli('grants', 'create', '--subject', PAYMENTS, '--audience', 'ledger-api', '--owner', 'team-payments', '--json')
  t.equal(created.code, 0, created.stderr)
  const grant = JSON.parse(created.stdout)
  t.same(grant, (await sts.app.inject({ method: 'GET', url: `/v1/grants/${grant.id}`, headers: sts.admin })).json())
  t.match(grant, {
    conditions: {},
    scopes: [],
    maxTtlSeconds: 3600,
    description: '',
    enabled: true,
    requireDpop: false,
    mayAct: [],
    version: 1,
  })
  t.equal(grant.expiresAt, new Date(NOW + 90 * 86_400_000).toISOString())
  t.ok(created.stdout.endsWith('}\n'), 'one JSON document and a newline')
})

t.test('grants show, in table and JSON form; grants disable', async (t) => {
  const { sts, cli, json } = await startCli(t)
  const grant = await sts.createGrant({ subject: SEARCH, audiences: ['search-api'], owner: 'team-search' })

  const shown = await cli('grants', 'show', grant.id as string)
  t.equal(shown.code, 0, shown.stderr)
  t.match(
    shown.stdout,
    new RegExp(`^id             ${grant.id}\nsubject        ${SEARCH}\nconditions     -\naudiences      search-api\nscopes         -\n`),
  )
  t.match(shown.stdout, /\nenabled {8}true\n/)
  t.match(shown.stdout, /\nrequireDpop {4}false\nmayAct {9}-\n/, 'no one may act: shown as none')
  t.same(await json('grants', 'show', grant.id as string), grant)

  const disabled = await cli('grants', 'disable', grant.id as string)
  t.equal(disabled.code, 0, disabled.stderr)
  t.equal(disabled.stdout, `disabled grant ${grant.id} (owner team-search, subject ${SEARCH})\n`)
  t.match(await json('grants', 'show', grant.id as string), { id: grant.id, enabled: false, version: 2 }, 'it stays on record, disabled')
  t.match((await cli('grants', 'show', grant.id as string)).stdout, /\nenabled {8}false\n/)

  const again = await json('grants', 'disable', grant.id as string)
  t.match(again, { id: grant.id, enabled: false }, '--json prints the disabled grant')
})

t.test('grants list: an aligned table, filters, JSON, paging with --limit, --cursor and --all', async (t) => {
  const { sts, cli, json } = await startCli(t)
  const ids: string[] = []
  for (const [subject, owner] of [
    [PAYMENTS, 'team-payments'],
    [SEARCH, 'team-search'],
    [LONG, 'team-payments'],
  ] as const) {
    sts.clock.advance(1000)
    ids.push(
      (await sts.createGrant({ subject, owner, audiences: ['ledger-api'], scopes: ['ledger:read'], maxTtlSeconds: 300 })).id as string,
    )
  }

  const listed = await cli('grants', 'list')
  t.equal(listed.code, 0, listed.stderr)
  t.equal(listed.stderr, '', 'one page holds them all: nothing more to say')
  t.ok(aligned(listed.stdout), `columns are aligned:\n${listed.stdout}`)
  t.notMatch(listed.stdout, / \n/, 'no trailing spaces')
  const rows = cells(listed.stdout)
  t.same(rows[0], ['ID', 'ENABLED', 'OWNER', 'SUBJECT', 'AUDIENCES', 'SCOPES', 'TTL', 'EXPIRES'])
  const expires = iso(NOW + 1000 + 90 * 86_400_000)
  t.same(rows[1], [ids[0], 'yes', 'team-payments', PAYMENTS, 'ledger-api', 'ledger:read', '300s', expires])
  t.same(
    rows.map((row) => row[0]),
    ['ID', ...ids],
    'oldest first',
  )
  const long = rows[3][3]
  t.equal([...long].length, 64, 'a long subject is cut to the column width')
  t.match(long, /^spiffe:\/\/example\.org\/k8s\/prod\/ns[^…]*…[^…]*\/sa\/the-batch-reconciler$/, 'keeping both ends')

  t.same(
    cells((await cli('grants', 'list', '--owner', 'team-search')).stdout).map((row) => row[0]),
    ['ID', ids[1]],
  )
  t.same(
    cells((await cli('grants', 'list', '--subject', PAYMENTS)).stdout).map((row) => row[0]),
    ['ID', ids[0]],
  )
  const none = await cli('grants', 'list', '--owner', 'team-nobody')
  t.same(none, { code: 0, stdout: '', stderr: 'no grants\n' })

  const all = await json<{ grants: { id: string }[] }>('grants', 'list')
  t.same(all, (await sts.app.inject({ method: 'GET', url: '/v1/grants', headers: sts.admin })).json(), '--json is the API answer')

  const firstPage = await cli('grants', 'list', '--limit', '2')
  t.same(
    cells(firstPage.stdout).map((row) => row[0]),
    ['ID', ids[0], ids[1]],
  )
  const cursor = /^more grants: add --all, or --cursor (\S+)\n$/.exec(firstPage.stderr)?.[1]
  t.ok(cursor, `says there is more, and how to get it: ${firstPage.stderr}`)
  const page = await json<{ grants: { id: string }[]; nextCursor?: string }>('grants', 'list', '--limit', '2')
  t.equal(page.nextCursor, cursor, '--json keeps nextCursor')
  t.same(
    cells((await cli('grants', 'list', '--limit', '2', '--cursor', cursor!)).stdout).map((row) => row[0]),
    ['ID', ids[2]],
  )

  const everything = await cli('grants', 'list', '--limit', '1', '--all')
  t.equal(everything.stderr, '')
  t.same(
    cells(everything.stdout).map((row) => row[0]),
    ['ID', ...ids],
    '--all follows nextCursor to the end',
  )
  const everythingJson = await json<{ grants: { id: string }[]; nextCursor?: string }>('grants', 'list', '--limit', '1', '--all')
  t.same(
    everythingJson.grants.map((grant) => grant.id),
    ids,
  )
  t.notOk('nextCursor' in everythingJson)
})

t.test('grants create prints the guardrails that warned on stderr; one that denies is refused, naming the rule', async (t) => {
  const { cli } = await startCli(t, { config: { grants: { guardrails: {} } } })
  const warned = await cli('grants', 'create', '--subject', PAYMENTS, '--audience', 'ledger-api', '--owner', 'team-payments')
  t.equal(warned.code, 0, warned.stderr)
  t.equal(warned.stderr, 'sts: warning: description-missing: no description: say why the grant exists, for the next person who reads it\n')
  t.match(warned.stdout, /^created grant [0-9a-f-]{36}\n/)
  const wide = `spiffe://${TRUST_DOMAIN}/k8s/**`
  const refused = await cli(
    'grants',
    'create',
    '--subject',
    wide,
    '--audience',
    'ledger-api',
    '--owner',
    'team-payments',
    '--description',
    'x',
  )
  t.equal(refused.code, 1)
  const reason = `${wide} matches every identity of every kubernetes attestor (spiffe://${TRUST_DOMAIN}/k8s/{}/ns/{}/sa/{}), whatever their names: name the workloads (a namespace and service account, a repository, an account)`
  t.equal(
    refused.stderr,
    `sts: the grant breaks a guardrail: subject-spans-attestor-kind: ${reason}\n  subject: subject-spans-attestor-kind: ${reason}\n`,
  )
  t.equal(refused.stdout, '')
})

t.test('grants validate says what create would do, creates nothing, and exits 1 when it would be refused', async (t) => {
  const { cli, json } = await startCli(t, { config: { grants: { guardrails: { maxTtlSeconds: 600 } } } })
  const fine = await cli(
    'grants',
    'validate',
    '--subject',
    PAYMENTS,
    '--audience',
    'ledger-api',
    '--owner',
    'team-payments',
    '--description',
    'x',
    '--max-ttl',
    '600',
  )
  t.same([fine.code, fine.stdout, fine.stderr], [0, 'the grant would be created\n', ''])
  const delegating = await cli(
    'grants',
    'validate',
    '--subject',
    PAYMENTS,
    '--audience',
    'ledger-api',
    '--owner',
    'team-payments',
    '--description',
    'x',
    '--max-ttl',
    '600',
    '--may-act',
    AGENTS,
    '--may-act',
    `spiffe://${TRUST_DOMAIN}/**`,
  )
  t.same(
    [delegating.code, delegating.stdout, delegating.stderr],
    [
      0,
      'the grant would be created\n' +
        `warn  may-act-spans: spiffe://${TRUST_DOMAIN}/** matches every identity of the trust domain ${TRUST_DOMAIN}, whatever attestor minted it: ` +
        "each of them may act for the grant's subjects; name the workloads that may act\n",
      '',
    ],
    'every --may-act is sent',
  )
  const wide = `spiffe://${TRUST_DOMAIN}/**`
  const refused = await cli(
    'grants',
    'validate',
    '--subject',
    wide,
    '--audience',
    'ledger-api',
    '--owner',
    'team-payments',
    '--max-ttl',
    '900',
  )
  t.equal(refused.code, 1)
  t.same(
    refused.stdout.split('\n').map((line) => line.split(':')[0]),
    [
      'the grant would be refused',
      'deny  subject-spans-trust-domain',
      'deny  subject-spans-attestor-kind',
      'deny  shared-issuer-unpinned',
      'warn  ttl-above-ceiling',
      'warn  description-missing',
      '',
    ],
  )
  t.match(refused.stdout, '\nwarn  ttl-above-ceiling: maxTtlSeconds 900 is above the ceiling of 600 (grants.guardrails.maxTtlSeconds)\n')
  const answer = await cli(
    'grants',
    'validate',
    '--subject',
    PAYMENTS,
    '--audience',
    'ledger-api',
    '--owner',
    'team-payments',
    '--max-ttl',
    '600',
    '--json',
  )
  t.same(JSON.parse(answer.stdout), {
    allowed: true,
    denied: [],
    warnings: [
      {
        rule: 'description-missing',
        field: 'description',
        reason: 'no description: say why the grant exists, for the next person who reads it',
      },
    ],
  })
  t.same(await json('grants', 'list'), { grants: [] }, 'nothing created')
})
