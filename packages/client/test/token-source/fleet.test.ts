import t from 'tap'
import { JWT_TOKEN_TYPE } from '../../src/attestations/attestation.js'
import { tokenSource } from '../../src/token-source/token-source.js'
import { FakeTime, seededRandom } from '../support/fake-time.js'
import { issued, stsStandIn } from '../support/sts-stand-in.js'
import { T0 } from './setup.js'

/**
 * A thousand workloads start together (a cluster recovering, a deployment rolled out at once): their
 * first tokens are fetched in the same instant, and without jitter each of their refreshes would hit
 * the STS in the same instant too, for ever. Each source here has its own seeded randomness, so the
 * run is the same every time.
 */
const FLEET = 1000
const LIFETIME_S = 300

async function refreshTimes(refreshJitter: number): Promise<number[]> {
  const time = new FakeTime(T0)
  const sts = stsStandIn(time, () => issued(LIFETIME_S))
  const sources = Array.from({ length: FLEET }, (_, index) =>
    tokenSource({
      sts: 'https://sts.test',
      attestation: async () => ({ subjectToken: `workload-${index}`, subjectTokenType: JWT_TOKEN_TYPE }),
      clock: time,
      timers: time,
      random: seededRandom(index + 1),
      fetch: sts.fetch,
      refreshJitter,
    }),
  )
  await Promise.all(sources.map((source) => source.token({ audience: 'ledger-api' })))
  await time.advance(LIFETIME_S * 1000)
  for (const source of sources) source.close()
  const refreshes = sts.calls.slice(FLEET)
  if (new Set(refreshes.map((call) => call.form.subject_token)).size !== FLEET)
    throw new Error('each source refreshes exactly once in a lifetime')
  return refreshes.map((call) => (call.at - T0) / 1000)
}

t.test('a thousand token sources started together spread their refreshes evenly over 75–85 % of the lifetime', async (t) => {
  const seconds = await refreshTimes(0.05)
  t.equal(seconds.length, FLEET)
  t.ok(
    Math.min(...seconds) >= 225 && Math.max(...seconds) <= 255,
    `all within [225, 255] s (${Math.min(...seconds)}–${Math.max(...seconds)})`,
  )

  // Uniform over the 30 s window: a chi-squared test on ten 3-second bins, 9 degrees of freedom.
  const bins = Array.from({ length: 10 }, () => 0)
  for (const at of seconds) bins[Math.min(9, Math.floor((at - 225) / 3))]! += 1
  const expected = FLEET / 10
  const chiSquared = bins.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0)
  t.ok(chiSquared < 21.67, `as even as uniform draws (chi² ${chiSquared.toFixed(2)} < 21.67, p = 0.01); bins ${bins.join(' ')}`)

  // What the STS sees: never more than a few dozen refreshes in any one second (uniform: 33 on average).
  const perSecond = new Map<number, number>()
  for (const at of seconds) perSecond.set(Math.floor(at), (perSecond.get(Math.floor(at)) ?? 0) + 1)
  const busiest = Math.max(...perSecond.values())
  t.ok(busiest <= 55, `the busiest second has ${busiest} refreshes of ${FLEET}`)

  const mean = seconds.reduce((sum, at) => sum + at, 0) / FLEET
  const spread = Math.sqrt(seconds.reduce((sum, at) => sum + (at - mean) ** 2, 0) / FLEET)
  t.ok(Math.abs(mean - 240) < 1, `centred on 80 % (mean ${mean.toFixed(2)} s)`)
  t.ok(
    Math.abs(spread - 30 / Math.sqrt(12)) < 0.5,
    `spread like a uniform over 30 s (σ ${spread.toFixed(2)} s, uniform ${(30 / Math.sqrt(12)).toFixed(2)} s)`,
  )
})

t.test('without jitter the same fleet refreshes in one instant: the spread above is the jitter’s doing', async (t) => {
  const seconds = await refreshTimes(0)
  t.same(new Set(seconds), new Set([240]))
})
