import t from 'tap'
import { StsError } from '../../src/errors.js'
import { issued, refused } from '../support/sts-stand-in.js'
import { harness } from './setup.js'

const NOT_GRANTED = {
  error: 'invalid_grant',
  error_description: 'no grant allows spiffe://example.org/k8s/prod/ns/payments/sa/api to get a token',
  error_reason: 'not_granted',
}

t.test('a refusal is thrown with the OAuth error, and not retried: a cool-down, then one more try', async (t) => {
  const { source, time, callTimes, events } = harness(t, () => refused(400, NOT_GRANTED))
  const error = await source.token({ audience: 'ledger-api' }).catch((caught: unknown) => caught)
  t.ok(error instanceof StsError)
  t.same(
    {
      name: (error as StsError).name,
      message: (error as StsError).message,
      error: (error as StsError).error,
      description: (error as StsError).description,
      status: (error as StsError).status,
      reason: (error as StsError).reason,
    },
    {
      name: 'StsError',
      message: `invalid_grant: ${NOT_GRANTED.error_description}`,
      error: 'invalid_grant',
      description: NOT_GRANTED.error_description,
      status: 400,
      reason: 'not_granted',
    },
  )
  await time.advance(29_999)
  t.equal(await source.token({ audience: 'ledger-api' }).catch((caught: unknown) => caught), error, 'the same refusal within the cool-down')
  t.same(callTimes(), [0], 'and no request')
  await time.advance(1)
  await t.rejects(source.token({ audience: 'ledger-api' }), { name: 'StsError', error: 'invalid_grant' })
  t.same(callTimes(), [0, 30_000], 'after the cool-down, an explicit call tries again')
  await time.advance(3_600_000)
  t.same(callTimes(), [0, 30_000], 'and nothing is sent in the background')
  t.same(
    events.map((event) => event.type),
    ['refused', 'refused'],
  )
})

t.test('a refused refresh stops the refreshing; the token held is handed out until its margin, then the refusal', async (t) => {
  let granted = true
  const { source, time, callTimes } = harness(t, () =>
    granted ? issued(300) : refused(400, { ...NOT_GRANTED, error_reason: 'revoked', error_description: 'the subject is revoked' }),
  )
  const token = await source.token({ audience: 'ledger-api' })
  granted = false
  await time.advance(289_999)
  t.same(callTimes(), [0, 240_000], 'one refused refresh, no retry')
  t.equal(await source.token({ audience: 'ledger-api' }), token, 'the token held is still good until its margin')
  await time.advance(7_200_000)
  t.same(callTimes(), [0, 240_000], 'no refresh in two hours')
  await t.rejects(source.token({ audience: 'ledger-api' }), {
    name: 'StsError',
    error: 'invalid_grant',
    reason: 'revoked',
    description: 'the subject is revoked',
  })
  t.same(callTimes(), [0, 240_000, 7_489_999], 'the explicit call after the cool-down tried once')

  granted = true
  await time.advance(30_000)
  const again = await source.token({ audience: 'ledger-api' })
  t.not(again, token, 'once granted again, a new token')
})

t.test('a 200 that is not a token response is not cached nor retried', async (t) => {
  const { source, callTimes } = harness(t, () => new Response('<html>login</html>', { status: 200 }))
  await t.rejects(source.token(), {
    name: 'StsError',
    error: 'invalid_response',
    description: 'the STS answered 200 without an access_token and expires_in',
    status: 200,
  })
  t.same(callTimes(), [0])
})
