import t from 'tap'
import { compileGlob, globMatches } from '../../src/lib/glob.js'

t.test('globs match whole values, one path segment per star', async (t) => {
  const base = 'spiffe://example.org/k8s/prod/ns/payments/sa'
  const cases: [string, string, boolean][] = [
    [`${base}/*`, `${base}/api`, true],
    [`${base}/*`, `${base}/api/extra`, false],
    [`${base}/*`, `${base}/`, true],
    ['spiffe://example.org/k8s/prod/**', `${base}/api`, true],
    ['spiffe://example.org/k8s/prod/**', 'spiffe://example.org/k8s/staging/ns/a/sa/b', false],
    [`${base}/api`, `${base}/api`, true],
    [`${base}/api`, `${base}/api2`, false],
    [`${base}/api`, `x${base}/api`, false],
    [`${base}/ap?`, `${base}/api`, true],
    [`${base}/ap?`, `${base}/ap/`, false],
    ['repo:acme/*', 'repo:acme/app', true],
    ['repo:acme/*', 'repo:acme/app/../../other', false],
    ['a.b', 'aXb', false],
    ['(a|b)', 'a', false],
    ['api-*', 'api-7d9f8b-x2x4q', true],
    ['api-*', 'worker-1', false],
  ]
  for (const [glob, value, expected] of cases) t.equal(globMatches(glob, value), expected, `${glob} ~ ${value}`)
})

t.test('stars may match nothing, adjacent stars are one star, and ? is exactly one character', async (t) => {
  const cases: [string, string, boolean][] = [
    ['*', '', true],
    ['*', 'a/b', false],
    ['**', 'a/b', true],
    ['***', 'a/b', true],
    ['a**b', 'ab', true],
    ['a**b', 'a/x/b', true],
    ['a*b', 'a/b', false],
    ['a*/*b', 'a/b', true],
    ['**a*b', 'a/ab', true],
    ['?', '', false],
    ['?', '/', false],
    ['??', 'ab', true],
    ['??', 'abc', false],
    ['a*a', 'a', false],
    ['a*a', 'aa', true],
    ['*.example.org', 'api.example.org', true],
    ['*.example.org', 'api.example.org.evil', false],
    ['x\ny', 'x\ny', true],
    ['x*y', 'x\ny', true],
  ]
  for (const [glob, value, expected] of cases)
    t.equal(globMatches(glob, value), expected, `${JSON.stringify(glob)} ~ ${JSON.stringify(value)}`)
})

/** The semantics the matcher keeps, as the regular expression it replaced (fine for short inputs). */
function reference(glob: string, value: string): boolean {
  let source = '^'
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        source += '.*'
        i++
      } else source += '[^/]*'
    } else if (ch === '?') source += '[^/]'
    else source += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&')
  }
  return new RegExp(`${source}$`, 's').test(value)
}

t.test('the matcher agrees with the regular-expression semantics on 20,000 random globs and values, short and long', async (t) => {
  let seed = 42
  const random = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
    return seed % n
  }
  const pick = (alphabet: string, length: number) => Array.from({ length }, () => alphabet[random(alphabet.length)]).join('')
  let disagreements = 0
  let matches = 0
  for (let i = 0; i < 20_000; i++) {
    // Long globs (over 32 states) exercise the automaton across several words.
    const glob = pick('ab/*?', random(i % 10 === 0 ? 80 : 12))
    const value = pick('ab/', random(i % 10 === 0 ? 60 : 10))
    const expected = reference(glob, value)
    if (expected) matches++
    if (globMatches(glob, value) !== expected) {
      disagreements++
      if (disagreements <= 5) t.fail(`${JSON.stringify(glob)} ~ ${JSON.stringify(value)}: expected ${expected}`)
    }
  }
  t.equal(disagreements, 0)
  t.ok(matches > 1000, `the sample includes matches too (${matches})`)
})

t.test(
  'a compiled glob agrees with the regular-expression semantics: long literal ends, short and long middles, any character',
  async (t) => {
    let seed = 7
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed % n
    }
    // Non-ASCII and astral characters among them: the automaton keeps codes of 128 and up apart.
    const pick = (alphabet: string[], length: number) => Array.from({ length }, () => alphabet[random(alphabet.length)]).join('')
    const literal = ['a', 'b', '/', 'é', '😀']
    const any = [...literal, '*', '?', '**']
    let disagreements = 0
    let matches = 0
    for (let i = 0; i < 10_000; i++) {
      const ends = [pick(literal, random(40)), pick(literal, random(40))]
      // Middles of up to about 70 tokens: one word of states and several.
      const glob = `${ends[0]}${pick(any, random(i % 5 === 0 ? 70 : 8))}${ends[1]}`
      const compiled = compileGlob(glob)
      for (let v = 0; v < 3; v++) {
        // Values that keep the ends most of the time, so the middle is what decides.
        const value = v === 2 ? pick(literal, random(100)) : `${ends[0]}${pick(literal, random(i % 5 === 0 ? 60 : 10))}${ends[1]}`
        const expected = reference(glob, value)
        if (expected) matches++
        if (compiled.matches(value) !== expected || globMatches(glob, value) !== expected) {
          disagreements++
          if (disagreements <= 5) t.fail(`${JSON.stringify(glob)} ~ ${JSON.stringify(value)}: expected ${expected}`)
        }
      }
    }
    t.equal(disagreements, 0)
    t.ok(matches > 1000, `the sample includes matches too (${matches})`)
  },
)

t.test('the worst globs an admin can write still answer correctly (their cost is measured by npm run bench)', async (t) => {
  const td = 'spiffe://example.org/'
  const claim = 'deploy'.repeat(1700) // a 10 KB claim the workload controls
  t.equal(globMatches(`${td}${'**'.repeat(12)}X`, `${td}${'a/'.repeat(2000)}Y`), false)
  t.equal(globMatches(`${td}${'**'.repeat(12)}X`, `${td}${'a/'.repeat(2000)}X`), true)
  t.equal(globMatches('*deploy*deploy*prod', claim), false)
  t.equal(globMatches('*deploy*deploy*prod', `${claim}prod`), true)
  t.equal(globMatches(`${'*a'.repeat(40)}b`, 'a'.repeat(10_000)), false)
  t.equal(globMatches(`${'**?'.repeat(40)}/`, `${'x'.repeat(10_000)}/`), true)
})
