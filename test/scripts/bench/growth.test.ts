import t from 'tap'
import { growthSizes } from '../../../scripts/bench/growth.js'

const sizes = (grants: number[], standingRevocations: number[], ledgerRows: number[]) =>
  growthSizes({ grants, standingRevocations, ledgerRows, ledgerQueries: 100, only: false })

t.test(
  'the smallest first and again last; each size grows one thing beside the smallest grants table, none revoked, an empty ledger',
  async (t) => {
    t.same(sizes([1000, 100_000], [10_000], [1_000_000, 10_000_000]), [
      { size: { grants: 10, standingRevocations: 0, ledgerRows: 0 }, repeat: false },
      { size: { grants: 1000, standingRevocations: 0, ledgerRows: 0 }, repeat: false },
      { size: { grants: 100_000, standingRevocations: 0, ledgerRows: 0 }, repeat: false },
      { size: { grants: 10, standingRevocations: 10_000, ledgerRows: 0 }, repeat: false },
      { size: { grants: 10, standingRevocations: 0, ledgerRows: 1_000_000 }, repeat: false },
      { size: { grants: 10, standingRevocations: 0, ledgerRows: 10_000_000 }, repeat: false },
      { size: { grants: 10, standingRevocations: 0, ledgerRows: 0 }, repeat: true },
    ])
    t.same(sizes([], [500], []), [
      { size: { grants: 10, standingRevocations: 0, ledgerRows: 0 }, repeat: false },
      { size: { grants: 10, standingRevocations: 500, ledgerRows: 0 }, repeat: false },
      { size: { grants: 10, standingRevocations: 0, ledgerRows: 0 }, repeat: true },
    ])
  },
)
