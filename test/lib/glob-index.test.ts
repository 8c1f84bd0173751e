import t from 'tap'
import { globMatches } from '../../src/lib/glob.js'
import { GlobIndex, segmentPrefixOf } from '@seed-sts/client/glob'
import { random, randomPath } from '../support/random-paths.js'

/** The index against the full scan it replaces (the oracle), through sets, replacements and deletions. */

t.test('the candidates that match are exactly the items a full scan matches, as items come and go', async (t) => {
  for (const seed of [7, 8, 9]) {
    const next = random(seed)
    const index = new GlobIndex<string>()
    const held = new Map<string, string>()
    let mismatches = 0
    let matched = 0
    for (let step = 0; step < 6000; step++) {
      const key = `k${Math.floor(next() * 1500)}`
      const roll = next()
      if (roll < 0.5) {
        const pattern = randomPath(next, true)
        index.set(key, pattern, pattern)
        held.set(key, pattern)
      } else if (roll < 0.65) {
        t.equal(index.delete(key), held.delete(key), `seed ${seed}: delete ${key} answers whether it was held`)
      } else {
        const subject = randomPath(next, false)
        const expected = [...held.values()].filter((pattern) => globMatches(pattern, subject)).sort()
        const found = [...index.candidates(subject)].filter((pattern) => globMatches(pattern, subject)).sort()
        matched += expected.length
        if (JSON.stringify(found) !== JSON.stringify(expected)) {
          if (++mismatches <= 3) t.same(found, expected, `seed ${seed}: ${subject}`)
        }
      }
    }
    t.equal(mismatches, 0, `seed ${seed}: no difference from the full scan (${matched} matches)`)
    t.ok(matched > 200, `seed ${seed}: the random cases match often enough to prove something`)
    t.equal(index.size, held.size, `seed ${seed}: one entry per key`)
  }
})

t.test('a lookup reads only the buckets that can concern the value', async (t) => {
  const index = new GlobIndex<string>()
  for (let sa = 0; sa < 1000; sa++) index.set(`svc${sa}`, `spiffe://example.org/ns/a/sa/svc${sa}`, `svc${sa}`)
  index.set('ns-a', 'spiffe://example.org/ns/a/sa/*', 'ns-a')
  index.set('ns-b', 'spiffe://example.org/ns/b/sa/*', 'ns-b')
  index.set('all', '**', 'all')
  index.set('partial', 'spiffe://example.org/ns/a/sa/svc1*', 'partial')
  t.same([...index.candidates('spiffe://example.org/ns/a/sa/svc7')], ['svc7', 'all', 'ns-a', 'partial'])
  t.same([...index.candidates('spiffe://other.org/x')], ['all'])
  index.set('svc7', 'spiffe://example.org/ns/b/sa/svc7', 'svc7 moved')
  t.same([...index.candidates('spiffe://example.org/ns/a/sa/svc7')], ['all', 'ns-a', 'partial'], 'a replaced key leaves its old bucket')
  t.same([...index.candidates('spiffe://example.org/ns/b/sa/svc7')], ['svc7 moved', 'all', 'ns-b'])
  index.clear()
  t.same([...index.candidates('spiffe://example.org/ns/b/sa/svc7')], [])
  t.equal(index.size, 0)
})

t.test("a glob is filed under its literal part cut back to the last '/'", async (t) => {
  t.same(
    ['spiffe://td/ns/*/sa', 'spiffe://td/ns/pay*', 'spiffe://td/ns/a?', '*', '**/x', 'spiffe:*', '/?', 'a/b/c/**'].map(segmentPrefixOf),
    ['spiffe://td/ns/', 'spiffe://td/ns/', 'spiffe://td/ns/', '', '', '', '/', 'a/b/c/'],
  )
})

t.test('items sharing a bucket come and go one by one, in the order they were filed', async (t) => {
  const index = new GlobIndex<string>()
  const id = 'spiffe://example.org/ns/a/sa/api'
  const glob = 'spiffe://example.org/ns/a/sa/*'
  index.set('one', id, 'one')
  index.set('g1', glob, 'g1')
  index.set('two', id, 'two')
  index.set('g2', glob, 'g2')
  index.set('three', id, 'three')
  t.same(index.candidates(id), ['one', 'two', 'three', 'g1', 'g2'])
  t.equal(index.delete('two'), true)
  t.equal(index.delete('g1'), true)
  t.same(index.candidates(id), ['one', 'three', 'g2'])
  t.equal(index.delete('one'), true)
  t.same(index.candidates(id), ['three', 'g2'], 'the last item of a bucket stays found')
  index.set('four', id, 'four')
  t.same(index.candidates(id), ['three', 'four', 'g2'])
  index.set('three', glob, 'three as a glob')
  t.same(index.candidates(id), ['four', 'g2', 'three as a glob'], 'moved to the end of its new bucket')
  for (const key of ['four', 'g2', 'three']) t.equal(index.delete(key), true)
  t.same(index.candidates(id), [])
  t.equal(index.delete('four'), false, 'a key deleted twice')
  t.equal(index.size, 0)
})
