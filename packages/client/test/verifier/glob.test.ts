import t from 'tap'
import { compileGlob as serviceGlob } from '../../../../src/lib/glob.js'
import { GlobIndex as ServiceGlobIndex } from '../../../../src/lib/glob-index.js'
import { compileGlob } from '../../src/verifier/glob.js'
import { GlobIndex } from '../../src/verifier/glob-index.js'

// The package's matcher is a copy of the service's: a subject revocation must refuse exactly the
// tokens the service refuses. Both are run on the same globs and values, and must agree on every one.

/** A small deterministic generator (xorshift), so a failure names a case that can be run again. */
function random(seed: number): () => number {
  let state = seed
  return () => {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    return (state >>> 0) / 2 ** 32
  }
}

const GLOB_PARTS = ['a', 'b', '/', '*', '**', '?', 'é', 'spiffe://example.org/']
const VALUE_PARTS = ['a', 'b', '/', 'é', 'ab/', 'spiffe://example.org/']

function pick(next: () => number, parts: readonly string[], length: number): string {
  let text = ''
  for (let i = 0; i < length; i++) text += parts[Math.floor(next() * parts.length)]
  return text
}

t.test('the copy matches as the service does, on thousands of globs and values (short and past 32 states)', async (t) => {
  const next = random(20_261_123)
  let disagreements = 0
  let matched = 0
  for (let g = 0; g < 400; g++) {
    const glob = pick(next, GLOB_PARTS, 1 + Math.floor(next() * (g % 4 === 0 ? 40 : 8)))
    const ours = compileGlob(glob)
    const theirs = serviceGlob(glob)
    for (let v = 0; v < 25; v++) {
      const value = pick(next, VALUE_PARTS, Math.floor(next() * 12))
      const answer = ours.matches(value)
      if (answer !== theirs.matches(value)) {
        disagreements++
        t.fail(`${JSON.stringify(glob)} against ${JSON.stringify(value)}: the copy says ${answer}`)
      }
      if (answer) matched++
    }
  }
  t.equal(disagreements, 0)
  t.ok(matched > 100, `enough cases match for the comparison to mean something (${matched})`)
})

t.test('the copied index offers the same candidates as the service index', async (t) => {
  const globs = [
    'spiffe://example.org/k8s/prod/**',
    'spiffe://example.org/k8s/*/ns/payments/**',
    'spiffe://example.org/k8s/prod/ns/a/sa/x',
    '**',
  ]
  const ours = new GlobIndex<string>()
  const theirs = new ServiceGlobIndex<string>()
  globs.forEach((glob, i) => {
    ours.set(String(i), glob, glob)
    theirs.set(String(i), glob, glob)
  })
  for (const value of ['spiffe://example.org/k8s/prod/ns/a/sa/x', 'spiffe://example.org/k8s/dev/ns/payments/sa/api', 'other']) {
    t.same(ours.candidates(value).sort(), theirs.candidates(value).sort(), value)
  }
})
