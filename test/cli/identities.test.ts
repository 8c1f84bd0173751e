import t from 'tap'
import { NOW } from '../support/service.js'
import { ledgerEntry } from '../support/ledger.js'
import { aligned, cells, startCli } from '../support/cli-harness.js'

/**
 * `sts identities` against the real service: GET /v1/identities (list, with its filters) and
 * GET /v1/identity?subject= (show).
 */

const TD = 'spiffe://example.org/k8s/prod/ns'
const GRANT = '0190a1b2-0000-7000-8000-00000000000a'
const DAY = 86_400_000

t.test('list and show identities', async (t) => {
  const harness = await startCli(t)
  const { cli, json } = harness
  const record = (at: number, subject: string, audience: string, scopes: string[]) =>
    harness.sts.services.ledger.record(
      ledgerEntry(at, { subject, audience, scopes, grantIds: [GRANT], sources: ['k8s:prod', 'k8s:prod:node:node-a'] }),
    )
  await record(NOW - 2 * DAY, `${TD}/payments/sa/api`, 'ledger-api', ['ledger:read'])
  await record(NOW - DAY, `${TD}/payments/sa/api`, 'ledger-api', [])
  await record(NOW, `${TD}/search/sa/api`, 'search-api', [])
  // Written behind the ledger: now rather than at the next interval.
  await harness.sts.services.inventoryRecorder.flush()

  const table = await cli('identities', 'list')
  t.equal(table.code, 0, table.stderr)
  t.ok(aligned(table.stdout), `aligned:\n${table.stdout}`)
  t.same(cells(table.stdout), [
    ['SUBJECT', 'ATTESTOR', 'FIRST SEEN', 'LAST SEEN', 'AUDIENCES', 'GRANTS'],
    [`${TD}/payments/sa/api`, 'prod', '2026-11-21T12:00:00Z', '2026-11-22T12:00:00Z', 'ledger-api', '1'],
    [`${TD}/search/sa/api`, 'prod', '2026-11-23T12:00:00Z', '2026-11-23T12:00:00Z', 'search-api', '1'],
  ])

  const filtered = await json<{ identities: { subject: string }[] }>(
    'identities',
    'list',
    '--subject',
    `${TD}/*/sa/api`,
    '--attestor',
    'prod',
    '--source',
    'k8s:prod:node:node-a',
    '--last-seen-before',
    '2026-11-23',
  )
  t.same(
    filtered.identities.map((i) => i.subject),
    [`${TD}/payments/sa/api`],
  )
  t.same(
    (await json<{ identities: { subject: string }[] }>('identities', 'list', '--last-seen-after', '2026-11-23')).identities.map(
      (i) => i.subject,
    ),
    [`${TD}/search/sa/api`],
  )
  const paged = await cli('identities', 'list', '--limit', '1')
  t.equal(cells(paged.stdout).length, 2)
  t.match(paged.stderr, /more identities/)
  const all = await cli('identities', 'list', '--limit', '1', '--all')
  t.equal(cells(all.stdout).length, 3)

  const shown = await cli('identities', 'show', `${TD}/payments/sa/api`)
  t.equal(shown.code, 0, shown.stderr)
  t.equal(
    shown.stdout,
    [
      `subject    ${TD}/payments/sa/api`,
      'attestor   prod (kubernetes)',
      'sources    k8s:prod,k8s:prod:node:node-a',
      'firstSeen  2026-11-21T12:00:00Z',
      'lastSeen   2026-11-22T12:00:00Z',
      '',
      'GRANT                                 AUDIENCE    SCOPE        LAST USED',
      `${GRANT}  ledger-api  -            2026-11-22T12:00:00Z`,
      `${GRANT}  ledger-api  ledger:read  2026-11-21T12:00:00Z`,
      '',
      'DAY         TOKENS',
      '2026-11-21  1',
      '2026-11-22  1',
      '',
    ].join('\n'),
  )
  const shownJson = await json<{ identity: { dailyTokens: unknown } }>('identities', 'show', `${TD}/search/sa/api`)
  t.same(shownJson.identity.dailyTokens, [{ day: '2026-11-23', tokens: 1 }])

  // A token the summarizer agent obtained for the tools service, acting for it: shown with the tools service.
  const agent = 'spiffe://example.org/agents/summarizer'
  await harness.sts.services.ledger.record(
    ledgerEntry(NOW, { subject: `${TD}/tools/sa/api`, audience: 'search-api', grantIds: [GRANT], actors: [agent] }),
  )
  await harness.sts.services.inventoryRecorder.flush()
  const delegated = await cli('identities', 'show', `${TD}/tools/sa/api`)
  t.equal(delegated.code, 0, delegated.stderr)
  t.equal(
    delegated.stdout.split('\n\n').at(-1),
    [
      'DELEGATION    IDENTITY                                TOKENS  FIRST SEEN            LAST SEEN',
      `acted for it  ${agent}  1       2026-11-23T12:00:00Z  2026-11-23T12:00:00Z`,
      '',
    ].join('\n'),
  )

  const missing = await cli('identities', 'show', `${TD}/nobody/sa/api`)
  t.not(missing.code, 0)
  t.match(missing.stderr, `no token was issued to ${TD}/nobody/sa/api`)
  const badGlob = await cli('identities', 'list', '--subject', 'payments')
  t.not(badGlob.code, 0)
  t.match(badGlob.stderr, /must be a SPIFFE ID or a glob of them/)
})
