import t from 'tap'
import { growthSizes } from '../../../scripts/bench/growth.js'

t.test('the smallest first and again last; grants grow with no revocations, revocations with the smallest grants table', async (t) => {
  t.same(growthSizes({ grants: [1000, 100_000], standingRevocations: [10_000], only: false }), [
    { size: { grants: 10, standingRevocations: 0 }, repeat: false },
    { size: { grants: 1000, standingRevocations: 0 }, repeat: false },
    { size: { grants: 100_000, standingRevocations: 0 }, repeat: false },
    { size: { grants: 10, standingRevocations: 10_000 }, repeat: false },
    { size: { grants: 10, standingRevocations: 0 }, repeat: true },
  ])
  t.same(growthSizes({ grants: [], standingRevocations: [500], only: true }), [
    { size: { grants: 10, standingRevocations: 0 }, repeat: false },
    { size: { grants: 10, standingRevocations: 500 }, repeat: false },
    { size: { grants: 10, standingRevocations: 0 }, repeat: true },
  ])
})
