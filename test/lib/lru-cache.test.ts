import t from 'tap'
import { LruCache } from '../../src/lib/lru-cache.js'

/** A cache of upper-cased keys that records every key it had to make. */
function upperCase(capacity: number): { cache: LruCache<string, string>; made: string[]; obtain: (key: string) => string } {
  const cache = new LruCache<string, string>(capacity)
  const made: string[] = []
  const make = (key: string) => {
    made.push(key)
    return key.toUpperCase()
  }
  return { cache, made, obtain: (key) => cache.obtain(key, make) }
}

t.test('a full cache forgets the least recently used entry, and only that one', async (t) => {
  const { cache, made, obtain } = upperCase(3)
  t.same(['a', 'b', 'c'].map(obtain), ['A', 'B', 'C'])
  t.equal(obtain('a'), 'A', 'a used again: now the most recent')
  t.equal(obtain('d'), 'D')
  t.same(
    ['a', 'b', 'c', 'd'].map((key) => cache.has(key)),
    [true, false, true, true],
    'b, the least recently used, is the one forgotten',
  )
  t.equal(cache.size, 3)
  t.same(made, ['a', 'b', 'c', 'd'], 'nothing held was made twice')
})

t.test('entries in use stay while a stream of new keys passes through a full cache', async (t) => {
  const { made, obtain } = upperCase(10)
  const inUse = ['hot-1', 'hot-2', 'hot-3']
  for (let i = 0; i < 1000; i++) {
    for (const key of inUse) obtain(key)
    obtain(`once-${i}`)
  }
  t.same(inUse.map(obtain), ['HOT-1', 'HOT-2', 'HOT-3'])
  t.same(
    made.filter((key) => key.startsWith('hot-')),
    inUse,
    'each key in use was made once, however often the cache filled (emptying it whole would make them again each time)',
  )
  t.equal(made.length, 1003)
})

t.test('a capacity that holds nothing is a mistake', async (t) => {
  t.throws(() => new LruCache(0), TypeError)
  t.throws(() => new LruCache(1.5), TypeError)
})

t.test('a cache of one holds the last key, used or not', async (t) => {
  const { cache, made, obtain } = upperCase(1)
  obtain('a')
  obtain('a')
  t.equal(obtain('b'), 'B')
  t.same([cache.has('a'), cache.has('b'), cache.size], [false, true, 1])
  t.same(made, ['a', 'b'])
})
