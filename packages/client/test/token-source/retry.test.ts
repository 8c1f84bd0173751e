import t from 'tap'
import { AttestationError, JWT_TOKEN_TYPE } from '../../src/attestations/attestation.js'
import { issued, refused, UNAVAILABLE } from '../support/sts-stand-in.js'
import { harness, T0 } from './setup.js'

t.test('503s are retried with exponential backoff and full jitter, for as long as a caller waits (30 s)', async (t) => {
  const { source, time, callTimes, events } = harness(t, () => refused(503, UNAVAILABLE))
  const waiting = source.token({ audience: 'ledger-api' })
  waiting.catch(() => {})
  await time.advance(60_000)
  // random 0.5: each wait is half its step (1, 2, 4, 8, 16 s); the next (15 s of a 30 s cap) would end past 30 s.
  t.same(callTimes(), [0, 500, 1_500, 3_500, 7_500, 15_500])
  await t.rejects(waiting, {
    name: 'StsError',
    error: 'temporarily_unavailable',
    description: 'the ledger cannot be reached',
    status: 503,
    reason: 'ledger_unavailable',
  })
  t.same(
    events.map((event) => [event.type, 'delayMs' in event ? event.delayMs : undefined]),
    [
      ['retrying', 500],
      ['retrying', 1_000],
      ['retrying', 2_000],
      ['retrying', 4_000],
      ['retrying', 8_000],
      ['gave-up', undefined],
    ],
  )
})

t.test('Retry-After is honoured: in seconds or as a date, never sooner, spread by up to one base step', async (t) => {
  const seconds = harness(t, (_call, index) =>
    index === 0 ? refused(503, { error: 'temporarily_unavailable', error_reason: 'overloaded' }, { 'retry-after': '7' }) : issued(),
  )
  const first = seconds.source.token()
  await seconds.time.advance(10_000)
  await first
  t.same(seconds.callTimes(), [0, 7_500], 'Retry-After: 7, plus half of the 1 s base step')

  const date = new Date(T0 + 20_000).toUTCString()
  const limited = harness(
    t,
    (_call, index) =>
      index === 0
        ? refused(429, { error: 'temporarily_unavailable', error_reason: 'identity_rate_limited' }, { 'retry-after': date })
        : issued(),
    { random: () => 0 },
  )
  const second = limited.source.token()
  await limited.time.advance(30_000)
  await second
  t.same(limited.callTimes(), [0, 20_000], 'a 429 is retried at its Retry-After date')
})

t.test('a 502 or 504 without an OAuth body is retried, and surfaces as server_error with its status', async (t) => {
  const { source, time, callTimes } = harness(t, () => new Response('<html>Bad Gateway</html>', { status: 502 }))
  const waiting = source.token()
  waiting.catch(() => {})
  await time.advance(60_000)
  t.equal(callTimes().length, 6)
  await t.rejects(waiting, { name: 'StsError', error: 'server_error', description: 'the STS answered 502', status: 502 })
})

t.test('a refusal Seed STS says to retry (registration_changed) is retried once more', async (t) => {
  const { source, time, callTimes } = harness(t, (_call, index) =>
    index === 0 ? refused(400, { error: 'invalid_grant', error_description: 'try again', error_reason: 'registration_changed' }) : issued(),
  )
  const token = source.token()
  await time.advance(1_000)
  t.match(await token, /^access-token-\d+$/)
  t.same(callTimes(), [0, 500])
})

t.test('an attestation that cannot be had is retried, without a request to the STS', async (t) => {
  let asked = 0
  const { source, time, callTimes } = harness(t, () => issued(), {
    attestation: async () => {
      asked++
      if (asked < 3) throw new Error('connect EHOSTUNREACH 169.254.169.254:80')
      return { subjectToken: 'attestation-3', subjectTokenType: JWT_TOKEN_TYPE }
    },
  })
  const token = source.token()
  await time.advance(5_000)
  await token
  t.equal(asked, 3)
  t.same(callTimes(), [1_500], 'one exchange, once the attestation came')
})

t.test('an attestation error that is not retryable is thrown at once, and cools down like a refusal', async (t) => {
  let asked = 0
  const { source, time, sts } = harness(t, () => issued(), {
    attestation: async () => {
      asked++
      throw new AttestationError(
        'the nonce file /var/lib/sts-nonce has mode 0644; it must be readable by its owner only (chmod 600)',
        false,
      )
    },
  })
  const expected = {
    name: 'AttestationError',
    retryable: false,
    message: 'the nonce file /var/lib/sts-nonce has mode 0644; it must be readable by its owner only (chmod 600)',
  }
  await t.rejects(source.token(), expected)
  await t.rejects(source.token(), expected)
  t.equal(asked, 1, 'asked once within the cool-down')
  await time.advance(30_000)
  await t.rejects(source.token(), expected)
  t.equal(asked, 2, 'asked again after it')
  t.equal(sts.calls.length, 0)
})
