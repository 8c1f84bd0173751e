import t from 'tap'
import type { GrowthStep } from '../../../scripts/bench/growth.js'
import { judge } from '../../../scripts/bench/growth-report.js'

/** The targets, judged on what each size changed: grants (rate, p99, start-up) or standing revocations (rate). */

const step = (grants: number, standingRevocations: number, firstTokenSeconds = 1, repeat = false, ledgerRows = 0): GrowthStep =>
  ({ size: { grants, standingRevocations, ledgerRows }, repeat, firstTokenSeconds }) as GrowthStep

t.test('a grants size meets its targets at 0.8x the rate, 1.5x the p99 and 3 s to the first token, not beyond', async (t) => {
  t.equal(judge(step(100_000, 0, 3), 0.8, 1.5), 'met')
  t.equal(judge(step(100_000, 0), 0.79, 1), 'MISSED: rate')
  t.equal(judge(step(100_000, 0), 1, 1.51), 'MISSED: p99')
  t.equal(judge(step(100_000, 0, 3.01), 1, 1), 'MISSED: start-up')
  t.equal(judge(step(100_000, 0, 4), 0.5, 2), 'MISSED: rate, p99, start-up')
})

t.test('a standing revocations size is judged on its rate alone, at 0.9x', async (t) => {
  t.equal(judge(step(10, 10_000, 5), 0.9, 3), 'met', 'neither p99 nor start-up is a target for revocations')
  t.equal(judge(step(10, 10_000), 0.89, 1), 'MISSED: rate')
})

t.test('a ledger size is judged on its rate alone, at 0.95x the empty ledger', async (t) => {
  t.equal(judge(step(10, 0, 5, false, 10_000_000), 0.95, 3), 'met', 'neither p99 nor start-up is a target for the ledger')
  t.equal(judge(step(10, 0, 1, false, 10_000_000), 0.94, 1), 'MISSED: rate')
})

t.test('the smallest measured again is the drift, not a size with targets', async (t) => {
  t.equal(judge(step(10, 0, 1, true), 0.5, 3), 'drift')
})
