import t from 'tap'
import { InvalidGrantError } from '../../src/errors.js'
import { InstanceRegistrations, type RegistrationRequest } from '../../src/replay/instance-registrations.js'
import { BACKENDS } from '../helpers/databases.js'

const T0 = new Date(Date.UTC(2026, 10, 23, 12, 0, 0))
const NONCE = 'a-secret-the-instance-keeps-0123'

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`instance registration contract on ${backend}`, async (t) => {
    const registrations = new InstanceRegistrations(await open(t))
    const request = (overrides: Partial<RegistrationRequest> = {}): RegistrationRequest => ({
      attestor: 'prod-aws',
      instance: 'i-0b02d936754a6d637',
      nonce: NONCE,
      mode: 'nonce',
      clientAddress: '10.0.0.7',
      now: T0,
      ...overrides,
    })
    const refused = async (promise: Promise<void>, message: RegExp) => {
      const error = await promise.then(() => undefined, (e: unknown) => e)
      t.type(error, InvalidGrantError)
      t.match((error as Error).message, message)
    }

    await registrations.admit(request())
    await registrations.admit(request({ now: new Date(T0.getTime() + 60_000) }))
    t.pass('the registered instance attests again with its nonce')
    await refused(registrations.admit(request({ nonce: 'somebody-elses-nonce-9999' })), /^instance i-0b02d936754a6d637 is registered with another nonce: this document may be a copy/)
    await refused(registrations.admit(request({ nonce: undefined })), /^a nonce of at least 16 characters is required/)
    await refused(registrations.admit(request({ nonce: 'short' })), /^a nonce of at least 16 characters/)
    await registrations.admit(request({ attestor: 'other-aws' }))
    t.pass('registrations are per attestor')

    await registrations.admit(request({ instance: 'i-once', mode: 'never' }))
    await refused(registrations.admit(request({ instance: 'i-once', mode: 'never' })), /has attested already, and this attestor allows one attestation per instance$/)
    await registrations.admit(request({ instance: 'i-free', mode: 'always', nonce: undefined }))
    await registrations.admit(request({ instance: 'i-free', mode: 'always', nonce: undefined }))
    t.pass('always: no binding')

    t.equal(await registrations.forget('prod-aws', 'i-0b02d936754a6d637'), true)
    await registrations.admit(request({ nonce: 'a-new-secret-after-a-reboot-456' }))
    t.pass('a forgotten instance registers afresh')

    const racing = await Promise.allSettled([1, 2, 3].map((i) => registrations.admit(request({ instance: 'i-race', nonce: `nonce-of-contender-${i}-xxxxxxxx` }))))
    t.same(racing.map((r) => r.status).sort(), ['fulfilled', 'rejected', 'rejected'], 'of instances racing to register, exactly one wins')
  })
}
