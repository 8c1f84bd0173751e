import { performance } from 'node:perf_hooks'
import { globMatches } from '../../src/lib/glob.js'

/** One hostile glob against a value the workload controls, at two lengths, to show the cost is linear. */
export interface GlobCase {
  name: string
  microsPerMatch: number
  /** The time for a value ten times longer, over the time for this one: about 10 when linear. */
  growthAtTenTimes: number
}

const TD = 'spiffe://bench.example/'

/**
 * The worst globs the admin API accepts, against long values an exchange can carry, each built so
 * the cheap checks (literal prefix and suffix) pass and the whole automaton runs, and each failing to
 * match: a backtracking matcher takes seconds to minutes on each (twelve `**` took over two minutes).
 */
const CASES: { name: string; glob: string; value: (scale: number) => string }[] = [
  {
    name: 'subject glob of twelve **b then X, a subject with one b',
    glob: `${TD}${'**b'.repeat(12)}X`,
    value: (n) => `${TD}${'a/'.repeat(100 * n)}bX`,
  },
  {
    name: 'condition *deploy*deploy*prod, a claim of deploys then /prod',
    glob: '*deploy*deploy*prod',
    value: (n) => `${'deploy'.repeat(170 * n)}/prod`,
  },
  { name: 'forty *a then b, a run of a then /ab', glob: `${'*a'.repeat(40)}b`, value: (n) => `${'a'.repeat(1000 * n)}/ab` },
]

export function measureGlobWorstCases(): GlobCase[] {
  return CASES.map(({ name, glob, value }) => {
    const short = timePerMatch(glob, value(1))
    const long = timePerMatch(glob, value(10))
    return { name, microsPerMatch: short, growthAtTenTimes: long / short }
  })
}

function timePerMatch(glob: string, value: string): number {
  for (let i = 0; i < 50; i++) globMatches(glob, value)
  let rounds = 0
  const started = performance.now()
  while (performance.now() - started < 200) {
    for (let i = 0; i < 20; i++) globMatches(glob, value)
    rounds += 20
  }
  return ((performance.now() - started) * 1000) / rounds
}
