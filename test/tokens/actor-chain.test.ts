import t from 'tap'
import { actClaimOf, actorsOf } from '../../src/tokens/actor-chain.js'

t.test('a chain becomes a nested act claim, the current actor outermost, and reads back the same', async (t) => {
  t.equal(actClaimOf([]), undefined)
  t.same(actClaimOf(['a']), { sub: 'a' })
  t.same(actClaimOf(['c', 'b', 'a']), { sub: 'c', act: { sub: 'b', act: { sub: 'a' } } })
  t.same(actorsOf(actClaimOf(['c', 'b', 'a'])), ['c', 'b', 'a'])
  t.same(actorsOf(undefined), [])
})

t.test('an act claim we could not have written reads as null', async (t) => {
  const tooDeep = actClaimOf(Array.from({ length: 11 }, (_, i) => `actor-${i}`))
  const cases: Array<[string, unknown]> = [
    ['not an object', 'a'],
    ['null', null],
    ['an array', [{ sub: 'a' }]],
    ['no sub', { act: { sub: 'a' } }],
    ['a sub that is not a string', { sub: 1 }],
    ['another member', { sub: 'a', iss: 'x' }],
    ['a bad inner level', { sub: 'a', act: { sub: 'b', extra: true } }],
    ['nested past ten', tooDeep],
  ]
  for (const [what, act] of cases) t.equal(actorsOf(act), null, what)
  t.same(actorsOf(actClaimOf(Array.from({ length: 10 }, (_, i) => `actor-${i}`)))?.length, 10, 'ten levels read')
})
