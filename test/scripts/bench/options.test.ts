import t from 'tap'
import { benchOptionsFrom, BenchOptionsError, type BenchOptions } from '../../../scripts/bench/options.js'

/** The bench's settings: BENCH_* variables only, every problem reported at once, nothing measured on a typo. */

const DEFAULTS: BenchOptions = {
  adminDatabaseUrl: 'postgres://postgres@127.0.0.1:5432/test',
  redisUrl: 'redis://127.0.0.1:6379',
  seconds: 10,
  warmupSeconds: 2,
  connections: 64,
  serviceAccounts: 1000,
  ceilingSeconds: 3,
  workers: 1,
  cpuProfile: false,
  metrics: true,
  revocations: 200,
  grantRounds: 100,
  serviceScript: undefined,
  dpop: true,
  growth: { grants: [], standingRevocations: [], ledgerRows: [], ledgerQueries: 100, only: false },
}

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    benchOptionsFrom(env)
  } catch (error) {
    if (!(error instanceof BenchOptionsError)) throw error
    return error.message.split('\n').slice(1)
  }
  throw new Error('no BenchOptionsError')
}

t.test('without growth settings the bench is what it always was: no growth part', async (t) => {
  t.same(benchOptionsFrom({}), DEFAULTS)
  // The service's own variables never reach the bench's settings.
  t.same(benchOptionsFrom({ DATABASE_URL: 'postgres://prod/db', GRANTS: '5' }), DEFAULTS)
  t.same(benchOptionsFrom({ BENCH_GRANTS: '', BENCH_STANDING_REVOCATIONS: ' ' }), DEFAULTS)
})

t.test('growth sizes: one or a list, underscores allowed, measured smallest first and each once', async (t) => {
  t.same(benchOptionsFrom({ BENCH_GRANTS: '100000', BENCH_STANDING_REVOCATIONS: '10_000' }).growth, {
    grants: [100_000],
    standingRevocations: [10_000],
    ledgerRows: [],
    ledgerQueries: 100,
    only: false,
  })
  t.same(benchOptionsFrom({ BENCH_GRANTS: '100_000, 1000,10000,1000' }).growth, {
    grants: [1000, 10_000, 100_000],
    standingRevocations: [],
    ledgerRows: [],
    ledgerQueries: 100,
    only: false,
  })
  t.same(benchOptionsFrom({ BENCH_GRANTS: '11', BENCH_STANDING_REVOCATIONS: '1', BENCH_GROWTH_ONLY: '1' }).growth, {
    grants: [11],
    standingRevocations: [1],
    ledgerRows: [],
    ledgerQueries: 100,
    only: true,
  })
  t.same(benchOptionsFrom({ BENCH_STANDING_REVOCATIONS: '500', BENCH_GROWTH_ONLY: 'true' }).growth, {
    grants: [],
    standingRevocations: [500],
    ledgerRows: [],
    ledgerQueries: 100,
    only: true,
  })
  t.same(benchOptionsFrom({ BENCH_LEDGER_ROWS: '10_000_000,1000000', BENCH_LEDGER_QUERIES: '20', BENCH_GROWTH_ONLY: '1' }).growth, {
    grants: [],
    standingRevocations: [],
    ledgerRows: [1_000_000, 10_000_000],
    ledgerQueries: 20,
    only: true,
  })
  t.equal(benchOptionsFrom({ BENCH_GRANTS: '20000', BENCH_GROWTH_ONLY: '0' }).growth.only, false)
})

t.test('a size that is not a whole number above the smallest is refused, naming the setting', async (t) => {
  const grants = 'must be a whole number of at least 11, or a comma-separated list of them'
  const revocations = 'must be a whole number of at least 1, or a comma-separated list of them'
  t.same(problemsOf({ BENCH_GRANTS: '10' }), [`  - BENCH_GRANTS="10": ${grants}`], 'the smallest is always measured: 10 is no growth')
  t.same(problemsOf({ BENCH_GRANTS: '1e5' }), [`  - BENCH_GRANTS="1e5": ${grants}`])
  t.same(problemsOf({ BENCH_GRANTS: '1000,,2000' }), [`  - BENCH_GRANTS="1000,,2000": ${grants}`])
  t.same(problemsOf({ BENCH_GRANTS: '-5' }), [`  - BENCH_GRANTS="-5": ${grants}`])
  t.same(problemsOf({ BENCH_STANDING_REVOCATIONS: '0' }), [`  - BENCH_STANDING_REVOCATIONS="0": ${revocations}`])
  t.same(problemsOf({ BENCH_LEDGER_ROWS: '0' }), [`  - BENCH_LEDGER_ROWS="0": ${revocations}`], 'the empty ledger is always measured')
  t.same(problemsOf({ BENCH_LEDGER_ROWS: '10M' }), [`  - BENCH_LEDGER_ROWS="10M": ${revocations}`])
  t.same(problemsOf({ BENCH_LEDGER_QUERIES: '0' }), ['  - BENCH_LEDGER_QUERIES="0": must be an integer of at least 1'])
  t.same(problemsOf({ BENCH_STANDING_REVOCATIONS: '99999999999999999999' }), [
    `  - BENCH_STANDING_REVOCATIONS="99999999999999999999": ${revocations}`,
  ])
})

t.test('every problem at once, the growth ones beside the others', async (t) => {
  t.same(problemsOf({ BENCH_SECONDS: '0', BENCH_GRANTS: 'many', BENCH_STANDING_REVOCATIONS: '2.5' }), [
    '  - BENCH_SECONDS="0": must be a number of at least 1',
    '  - BENCH_GRANTS="many": must be a whole number of at least 11, or a comma-separated list of them',
    '  - BENCH_STANDING_REVOCATIONS="2.5": must be a whole number of at least 1, or a comma-separated list of them',
  ])
})

t.test('growth alone needs a size to measure', async (t) => {
  t.same(problemsOf({ BENCH_GROWTH_ONLY: '1' }), [
    '  - BENCH_GROWTH_ONLY=1 needs BENCH_GRANTS, BENCH_STANDING_REVOCATIONS or BENCH_LEDGER_ROWS: there would be nothing to measure',
  ])
})

t.test('BENCH_METRICS=0 runs the service without metrics, to compare; anything but 0/1/true/false is a problem', async (t) => {
  t.same(benchOptionsFrom({ BENCH_METRICS: '0' }), { ...DEFAULTS, metrics: false })
  t.same(benchOptionsFrom({ BENCH_METRICS: 'false' }), { ...DEFAULTS, metrics: false })
  t.same(benchOptionsFrom({ BENCH_METRICS: '1' }), DEFAULTS)
  t.same(benchOptionsFrom({ BENCH_METRICS: 'true' }), DEFAULTS)
  t.same(problemsOf({ BENCH_METRICS: 'off' }), ['  - BENCH_METRICS="off": must be 1 or 0 (true or false)'])
})

t.test('BENCH_DPOP: on by default, 0 skips it; its pre-signed proofs bound the window to 45 s', async (t) => {
  t.equal(benchOptionsFrom({ BENCH_DPOP: '0' }).dpop, false)
  t.equal(benchOptionsFrom({ BENCH_DPOP: '1', BENCH_SECONDS: '45' }).dpop, true)
  t.same(problemsOf({ BENCH_SECONDS: '46' }), [
    '  - BENCH_SECONDS=46 with BENCH_DPOP on: its proofs, signed before the window, would be too old by its end (the service takes them 60 s around their iat); at most 45, or BENCH_DPOP=0',
  ])
  t.equal(benchOptionsFrom({ BENCH_SECONDS: '120', BENCH_DPOP: '0' }).seconds, 120)
  t.same(problemsOf({ BENCH_DPOP: 'yes' }), ['  - BENCH_DPOP="yes": must be 1 or 0 (true or false)'])
})
