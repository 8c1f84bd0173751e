import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { SqlAuditLog } from '../../src/audit/sql-audit-log.js'
import { createPGliteDatabase } from '../../src/db/pglite.js'
import { migrate } from '../../src/db/migrations.js'
import { FixedClock } from '../../src/lib/clock.js'
import { createLogger } from '../../src/lib/logger.js'
import type { RegistrationStore } from '../../src/replay/registration-store.js'
import { SqlRegistrationStore } from '../../src/replay/sql-registration-store.js'
import { RegistrationTidy } from '../../src/replay/registration-tidy.js'
import { eventually } from '../support/eventually.js'
import { NOW, startTestService } from '../support/service.js'

const DAY = 86_400_000

function admitter(registrations: RegistrationStore) {
  return (instance: string, at: number) =>
    registrations.admit({
      attestor: 'prod-aws',
      instance,
      nonce: `nonce-of-${instance}-0123456789`,
      mode: 'nonce',
      clientAddress: '10.0.0.7',
      now: new Date(at),
    })
}

t.test('the tidy forgets only registrations unused for tidyAfterDays, as seed-sts, on the audit log', async (t) => {
  const sts = await startTestService(t, { config: { registrations: { tidyAfterDays: 30 } } })
  const tidy = sts.services.registrationTidy!
  t.ok(tidy, 'on by default')
  const admit = admitter(sts.services.registrations)
  await admit('i-gone', NOW - 45 * DAY)
  await admit('i-stopped', NOW - 31 * DAY)
  await admit('i-busy', NOW - 45 * DAY)
  await admit('i-busy', NOW - 29 * DAY)
  await admit('i-new', NOW)

  t.equal(await tidy.runOnce(), 2)
  const left = (await sts.services.registrations.list({ limit: 10 })).items.map((r) => r.instance)
  t.same(left, ['i-busy', 'i-new'], 'a registration is kept while its instance attests')
  const { items: audit } = await sts.services.audit.list({ targetType: 'registration', limit: 10 })
  t.same(
    audit.map((e) => [e.actor, e.action, e.targetId, e.at.getTime(), e.after, e.requestId]),
    [
      [
        'seed-sts',
        'registration.tidy',
        'prod-aws/i-gone',
        NOW,
        { reason: 'unused for more than 30 days (registrations.tidyAfterDays)' },
        null,
      ],
      [
        'seed-sts',
        'registration.tidy',
        'prod-aws/i-stopped',
        NOW,
        { reason: 'unused for more than 30 days (registrations.tidyAfterDays)' },
        null,
      ],
    ],
  )
  t.match(audit[0].before, { instance: 'i-gone', lastSeen: new Date(NOW - 45 * DAY).toISOString() })

  t.equal(await tidy.runOnce(), 0, 'nothing more to do')
  sts.clock.advance(2 * DAY)
  t.equal(await tidy.runOnce(), 1, 'time passing makes i-busy stale')
  await admit('i-busy', sts.clock.now())
  t.same((await sts.services.registrations.get('prod-aws', 'i-busy'))?.attestations, 1, 'a tidied instance registers afresh')
})

t.test('a run is bounded: batches of tidyBatchSize, a few per run; the next run goes on', async (t) => {
  const db = await createPGliteDatabase()
  t.teardown(() => db.close())
  await migrate(db)
  const registrations = new SqlRegistrationStore(db, new SqlAuditLog(db))
  const admit = admitter(registrations)
  for (let i = 0; i < 5; i++) await admit(`i-${i}`, NOW - 40 * DAY + i)
  const clock = new FixedClock(NOW)
  const tidy = new RegistrationTidy({
    registrations,
    clock,
    logger: createLogger('silent'),
    tidyAfterDays: 30,
    intervalMs: 60_000,
    batchSize: 2,
    maxBatchesPerRun: 2,
  })
  t.equal(await tidy.runOnce(), 4)
  t.same(
    (await registrations.list({ limit: 10 })).items.map((r) => r.instance),
    ['i-4'],
    'the oldest first',
  )
  t.equal(await tidy.runOnce(), 1)

  // Stopped (as on close), its timer runs no more.
  const timed = new RegistrationTidy({
    registrations,
    clock,
    logger: createLogger('silent'),
    tidyAfterDays: 30,
    intervalMs: 20,
    batchSize: 2,
  })
  timed.start()
  await timed.stop()
  await admit('i-after-stop', NOW - 40 * DAY)
  // Time let pass on purpose, ten of its intervals, to show that nothing happens in it.
  await sleep(200)
  t.ok(await registrations.get('prod-aws', 'i-after-stop'), 'a stopped tidy forgets nothing')
})

t.test('each instance tidies on its timer; tidyAfterDays 0 turns the tidy off', async (t) => {
  const sts = await startTestService(t, { backend: 'embedded', config: { registrations: { tidyAfterDays: 1, tidyIntervalSeconds: 1 } } })
  await admitter(sts.services.registrations)('i-old', NOW - 2 * DAY)
  await eventually(t, async () => (await sts.services.registrations.get('prod-aws', 'i-old')) === undefined, { intervalMs: 100 })
  t.equal(await sts.services.registrations.get('prod-aws', 'i-old'), undefined, 'forgotten by the timer')

  const off = await startTestService(t, { backend: 'embedded', config: { registrations: { tidyAfterDays: 0 } } })
  t.equal(off.services.registrationTidy, undefined)
})
