import t from 'tap'
import { NOW } from '../support/service.js'
import { aligned, cells, startCli, type CliHarness } from '../support/cli-harness.js'

/**
 * `sts registrations` against the real service and the registration API contract:
 * GET /v1/registrations?attestor=&instance=&lastSeenBefore=&lastSeenAfter=&cursor= -> {registrations, nextCursor?},
 * GET /v1/registrations/{attestor}/{instance} -> {registration},
 * DELETE /v1/registrations/{attestor}/{instance} {reason} -> {registration}.
 */

const DAY = 86_400_000
const EC2 = '111122223333/eu-west-1/i-0abc'
const OLD = '111122223333/eu-west-1/i-0old'

async function seed(harness: CliHarness): Promise<void> {
  const admit = (attestor: string, instance: string, at: number) =>
    harness.sts.services.registrations.admit({
      attestor,
      instance,
      nonce: 'a-nonce-the-instance-keeps-01',
      mode: 'nonce',
      clientAddress: '10.0.0.7',
      now: new Date(at),
    })
  await admit('prod-aws', EC2, NOW - 2 * DAY)
  await admit('prod-aws', EC2, NOW - DAY)
  await admit('prod-aws', OLD, NOW - 20 * DAY)
  await admit('staging-aws', '444455556666/us-east-1/i-0stg', NOW)
}

t.test('list, show and forget registrations', async (t) => {
  const harness = await startCli(t)
  const { cli, json } = harness
  await seed(harness)

  const table = await cli('registrations', 'list')
  t.equal(table.code, 0, table.stderr)
  t.equal(table.stderr, '')
  t.ok(aligned(table.stdout), `aligned:\n${table.stdout}`)
  t.same(cells(table.stdout), [
    ['ATTESTOR', 'INSTANCE', 'NONCE', 'FIRST SEEN', 'LAST SEEN', 'ATTESTATIONS', 'ADDRESS'],
    ['prod-aws', EC2, 'yes', '2026-11-21T12:00:00Z', '2026-11-22T12:00:00Z', '2', '10.0.0.7'],
    ['prod-aws', OLD, 'yes', '2026-11-03T12:00:00Z', '2026-11-03T12:00:00Z', '1', '10.0.0.7'],
    ['staging-aws', '444455556666/us-east-1/i-0stg', 'yes', '2026-11-23T12:00:00Z', '2026-11-23T12:00:00Z', '1', '10.0.0.7'],
  ])

  const filtered = await json<{ registrations: { instance: string }[] }>(
    'registrations',
    'list',
    '--attestor',
    'prod-aws',
    '--instance',
    '111122223333/*/*',
    '--last-seen-before',
    '2026-11-10',
  )
  t.same(
    filtered.registrations.map((r) => r.instance),
    [OLD],
  )
  t.same(
    (
      await json<{ registrations: { instance: string }[] }>('registrations', 'list', '--last-seen-after', '2026-11-22T12:00:00Z')
    ).registrations.map((r) => r.instance),
    [EC2, '444455556666/us-east-1/i-0stg'],
  )

  const paged = await cli('registrations', 'list', '--limit', '2')
  t.equal(cells(paged.stdout).length, 3)
  t.match(paged.stderr, /^more registrations: add --all, or --cursor \S+\n$/)
  t.equal(cells((await cli('registrations', 'list', '--limit', '1', '--all')).stdout).length, 4, '--all follows the cursors')
  t.same(await cli('registrations', 'list', '--attestor', 'nobody'), { code: 0, stdout: '', stderr: 'no registrations\n' })

  t.same(await cli('registrations', 'show', 'prod-aws', EC2), {
    code: 0,
    stderr: '',
    stdout:
      'attestor      prod-aws\n' +
      `instance      ${EC2}\n` +
      'nonceBound    true\n' +
      'firstSeen     2026-11-21T12:00:00Z\n' +
      'lastSeen      2026-11-22T12:00:00Z\n' +
      'lastAddress   10.0.0.7\n' +
      'attestations  2\n',
  })
  t.same(await json('registrations', 'show', 'prod-aws', EC2), {
    registration: {
      attestor: 'prod-aws',
      instance: EC2,
      nonceBound: true,
      firstSeen: new Date(NOW - 2 * DAY).toISOString(),
      lastSeen: new Date(NOW - DAY).toISOString(),
      lastAddress: '10.0.0.7',
      attestations: 2,
    },
  })

  const forgotten = await cli('registrations', 'forget', 'prod-aws', EC2, '--reason', 'rebuilt: nonce lost (CHG-88)')
  t.same(forgotten, {
    code: 0,
    stderr: '',
    stdout: `forgot the registration of instance ${EC2} with attestor prod-aws (last seen 2026-11-22T12:00:00Z): it registers afresh at its next attestation\n`,
  })
  t.same(await cli('registrations', 'show', 'prod-aws', EC2), {
    code: 1,
    stdout: '',
    stderr: `sts: no registration of instance ${EC2} with attestor prod-aws\n`,
  })
  t.same(
    await cli('registrations', 'forget', 'prod-aws', EC2, '--reason', 'again'),
    { code: 1, stdout: '', stderr: `sts: no registration of instance ${EC2} with attestor prod-aws\n` },
    'forgetting twice is refused',
  )
  const asJson = await json<{ registration: { instance: string } }>('registrations', 'forget', 'prod-aws', OLD, '--reason', 'terminated')
  t.equal(asJson.registration.instance, OLD)

  const { items: audit } = await harness.sts.services.audit.list({ targetType: 'registration', limit: 10 })
  t.same(
    audit.map((e) => [e.action, e.targetId, e.actor, e.after]),
    [
      ['registration.forget', `prod-aws/${EC2}`, 'bootstrap', { reason: 'rebuilt: nonce lost (CHG-88)' }],
      ['registration.forget', `prod-aws/${OLD}`, 'bootstrap', { reason: 'terminated' }],
    ],
  )
})

t.test('usage errors: exit 2, every problem at once, nothing sent', async (t) => {
  const harness = await startCli(t)
  const { cli } = harness
  await seed(harness)
  t.same(await cli('registrations', 'forget', 'prod-aws'), {
    code: 2,
    stdout: '',
    stderr:
      'sts: missing <instance>\nsts: --reason R is required\nusage: sts registrations forget <attestor> <instance> --reason R [--json]\n',
  })
  t.same(await cli('registrations', 'list', '--last-seen-before', 'last week', '--limit', '0'), {
    code: 2,
    stdout: '',
    stderr:
      'sts: --last-seen-before must be an RFC 3339 time such as 2026-11-23T12:00:00Z (or a date), not "last week"\n' +
      'sts: --limit must be a whole number of at least 1, not "0"\n' +
      'usage: sts registrations list [--attestor A] [--instance I] [--last-seen-before ISO] [--last-seen-after ISO] [--limit N] [--cursor C] [--all] [--json]\n',
  })
  const refused = await cli('registrations', 'list', '--last-seen-before', '2026-11-01', '--last-seen-after', '2026-11-20')
  t.same(
    refused,
    {
      code: 1,
      stdout: '',
      stderr: 'sts: the query is not valid: lastSeenBefore: must be after lastSeenAfter\n  lastSeenBefore: must be after lastSeenAfter\n',
    },
    'the API refuses: exit 1',
  )
  t.equal((await harness.sts.services.registrations.list({ limit: 10 })).items.length, 3, 'nothing was forgotten')
})
