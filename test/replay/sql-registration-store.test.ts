import t from 'tap'
import { SqlAuditLog } from '../../src/audit/sql-audit-log.js'
import { InvalidGrantError, InvalidInputError, type ErrorReason } from '../../src/errors.js'
import type { RegistrationRequest } from '../../src/replay/registration-store.js'
import { SqlRegistrationStore } from '../../src/replay/sql-registration-store.js'
import { BACKENDS } from '../support/databases.js'

const T0 = new Date(Date.UTC(2026, 10, 23, 12, 0, 0))
const NONCE = 'a-secret-the-instance-keeps-0123'

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`instance registration contract on ${backend}`, async (t) => {
    const db = await open(t)
    const registrations = new SqlRegistrationStore(db, new SqlAuditLog(db))
    const request = (overrides: Partial<RegistrationRequest> = {}): RegistrationRequest => ({
      attestor: 'prod-aws',
      instance: 'i-0b02d936754a6d637',
      nonce: NONCE,
      mode: 'nonce',
      clientAddress: '10.0.0.7',
      now: T0,
      ...overrides,
    })
    const refused = async (promise: Promise<void>, reason: ErrorReason) => {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      )
      t.type(error, InvalidGrantError)
      t.equal((error as InvalidGrantError).reason, reason)
    }

    await registrations.admit(request())
    await registrations.admit(request({ now: new Date(T0.getTime() + 60_000) }))
    t.pass('the registered instance attests again with its nonce')
    await refused(registrations.admit(request({ nonce: 'somebody-elses-nonce-9999' })), 'nonce_mismatch')
    await refused(registrations.admit(request({ nonce: undefined })), 'nonce_required')
    await refused(registrations.admit(request({ nonce: 'short' })), 'nonce_required')
    await registrations.admit(request({ attestor: 'other-aws' }))
    t.pass('registrations are per attestor')

    await registrations.admit(request({ instance: 'i-once', mode: 'never' }))
    await refused(registrations.admit(request({ instance: 'i-once', mode: 'never' })), 'instance_already_attested')
    await registrations.admit(request({ instance: 'i-free', mode: 'always', nonce: undefined }))
    await registrations.admit(request({ instance: 'i-free', mode: 'always', nonce: undefined }))
    t.pass('always: no binding')

    t.ok(await registrations.forget('prod-aws', 'i-0b02d936754a6d637', 'nonce lost in a rebuild', T0, { name: 'ops', requestId: 'r1' }))
    await registrations.admit(request({ nonce: 'a-new-secret-after-a-reboot-456' }))
    t.pass('a forgotten instance registers afresh')

    const racing = await Promise.allSettled(
      [1, 2, 3].map((i) => registrations.admit(request({ instance: 'i-race', nonce: `nonce-of-contender-${i}-xxxxxxxx` }))),
    )
    t.same(racing.map((r) => r.status).sort(), ['fulfilled', 'rejected', 'rejected'], 'of instances racing to register, exactly one wins')
  })
}

const DAY = 86_400_000
const ago = (days: number) => new Date(T0.getTime() - days * DAY)

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`registrations listed, read, forgotten and tidied on ${backend}`, async (t) => {
    const db = await open(t)
    const audit = new SqlAuditLog(db)
    const registrations = new SqlRegistrationStore(db, audit)
    const admit = (attestor: string, instance: string, now: Date, mode: 'nonce' | 'always' = 'nonce') =>
      registrations.admit({
        attestor,
        instance,
        nonce: mode === 'nonce' ? `nonce-of-${instance}-0123456789` : undefined,
        mode,
        clientAddress: '10.0.0.7',
        now,
      })
    await admit('prod-aws', 'i-0aaa', ago(40))
    await admit('prod-aws', 'i-0bbb', ago(40))
    await admit('prod-aws', 'i-0bbb', ago(1))
    await admit('prod-aws', 'i-1ccc', ago(31))
    await admit('prod-azure', '0b8f3c2e-1111-4000-8000-000000000000', ago(2), 'always')

    t.same(
      await registrations.get('prod-aws', 'i-0bbb'),
      {
        attestor: 'prod-aws',
        instance: 'i-0bbb',
        nonceBound: true,
        firstSeen: ago(40),
        lastSeen: ago(1),
        lastAddress: '10.0.0.7',
        attestations: 2,
      },
      'each admitted attestation moves lastSeen and counts',
    )
    t.equal((await registrations.get('prod-azure', '0b8f3c2e-1111-4000-8000-000000000000'))?.nonceBound, false)
    t.equal(await registrations.get('prod-aws', 'i-none'), undefined)

    const names = async (filter: Partial<Parameters<SqlRegistrationStore['list']>[0]>) =>
      (await registrations.list({ limit: 100, ...filter })).items.map((r) => `${r.attestor}/${r.instance}`)
    t.same(await names({}), ['prod-aws/i-0aaa', 'prod-aws/i-0bbb', 'prod-aws/i-1ccc', 'prod-azure/0b8f3c2e-1111-4000-8000-000000000000'])
    t.same(await names({ attestor: 'prod-azure' }), ['prod-azure/0b8f3c2e-1111-4000-8000-000000000000'])
    t.same(await names({ instance: 'i-0*' }), ['prod-aws/i-0aaa', 'prod-aws/i-0bbb'], 'an instance glob')
    t.same(await names({ instance: 'i-0.*' }), [], 'a glob is no regex')
    t.same(await names({ instance: 'i-1ccc' }), ['prod-aws/i-1ccc'], 'an exact instance')
    t.same(await names({ lastSeenBefore: ago(30) }), ['prod-aws/i-0aaa', 'prod-aws/i-1ccc'])
    t.same(
      await names({ lastSeenAfter: ago(2) }),
      ['prod-aws/i-0bbb', 'prod-azure/0b8f3c2e-1111-4000-8000-000000000000'],
      'after is inclusive',
    )
    t.same(await names({ lastSeenAfter: ago(35), lastSeenBefore: ago(2) }), ['prod-aws/i-1ccc'])
    await t.rejects(registrations.list({ limit: 10, lastSeenAfter: ago(2), lastSeenBefore: ago(3) }), InvalidInputError)
    await t.rejects(registrations.list({ limit: 10, cursor: 'not-a-cursor' }), InvalidInputError)

    const first = await registrations.list({ limit: 3 })
    t.equal(first.items.length, 3)
    t.type(first.nextCursor, 'string')
    const second = await registrations.list({ limit: 3, cursor: first.nextCursor })
    t.same(
      second.items.map((r) => r.instance),
      ['0b8f3c2e-1111-4000-8000-000000000000'],
    )
    t.equal(second.nextCursor, undefined, 'the last page has no nextCursor')

    const forgotten = await registrations.forget('prod-aws', 'i-0bbb', 'nonce lost in a rebuild', T0, { name: 'ops', requestId: 'req-7' })
    t.equal(forgotten?.instance, 'i-0bbb')
    t.equal(
      await registrations.forget('prod-aws', 'i-0bbb', 'again', T0, { name: 'ops', requestId: 'req-8' }),
      undefined,
      'forgetting twice finds nothing',
    )
    t.same((await audit.list({ targetType: 'registration', limit: 10 })).items, [
      {
        id: Number((await audit.list({ limit: 1 })).items[0].id),
        at: T0,
        actor: 'ops',
        action: 'registration.forget',
        targetType: 'registration',
        targetId: 'prod-aws/i-0bbb',
        before: {
          attestor: 'prod-aws',
          instance: 'i-0bbb',
          nonceBound: true,
          firstSeen: ago(40).toISOString(),
          lastSeen: ago(1).toISOString(),
          lastAddress: '10.0.0.7',
          attestations: 2,
        },
        after: { reason: 'nonce lost in a rebuild' },
        requestId: 'req-7',
      },
    ])

    const tidied = await registrations.tidy(ago(30), 1, T0, { name: 'seed-sts', requestId: null }, 'unused')
    t.same(
      tidied.forgotten.map((r) => r.instance),
      ['i-0aaa'],
      'a batch is bounded, oldest first',
    )
    const rest = await registrations.tidy(ago(30), 100, T0, { name: 'seed-sts', requestId: null }, 'unused')
    t.same(
      rest.forgotten.map((r) => r.instance),
      ['i-1ccc'],
    )
    t.same(
      (await registrations.tidy(ago(30), 100, T0, { name: 'seed-sts', requestId: null }, 'unused')).forgotten,
      [],
      'nothing stale is left',
    )
    t.same(await names({}), ['prod-azure/0b8f3c2e-1111-4000-8000-000000000000'], 'only stale registrations are tidied')
    const tidyEntries = (await audit.list({ targetType: 'registration', limit: 10 })).items.slice(1)
    t.same(
      tidyEntries.map((e) => [e.actor, e.action, e.targetId, e.after, e.requestId]),
      [
        ['seed-sts', 'registration.tidy', 'prod-aws/i-0aaa', { reason: 'unused' }, null],
        ['seed-sts', 'registration.tidy', 'prod-aws/i-1ccc', { reason: 'unused' }, null],
      ],
    )
  })
}
