import t from 'tap'
import { clipUntrusted, quoteUntrusted } from '../../src/lib/untrusted-text.js'

t.test('quoteUntrusted: quoted, escaped, bounded, and says what it cut', async (t) => {
  const cases: [unknown, number | undefined, string][] = [
    ['kid-1', undefined, '"kid-1"'],
    ['', undefined, '""'],
    ['a'.repeat(64), undefined, `"${'a'.repeat(64)}"`],
    ['a'.repeat(65), undefined, `"${'a'.repeat(64)}…" (65 characters)`],
    ['a'.repeat(20), 8, '"aaaaaaaa…" (20 characters)'],
    ['say "hi"\n', undefined, '"say \\"hi\\"\\n"'],
    // Escapes lengthen the text: the quoted form is cut, and the cut is said.
    ['"'.repeat(40), undefined, `"${'\\"'.repeat(32)}…" (40 characters)`],
    [undefined, undefined, '(none)'],
    [null, undefined, '(null)'],
    [42, undefined, '(a number)'],
    [true, undefined, '(a boolean)'],
    [['a'], undefined, '(a list)'],
    [{ a: 1 }, undefined, '(an object)'],
  ]
  for (const [value, max, expected] of cases)
    t.equal(quoteUntrusted(value, max), expected, `${JSON.stringify(value) ?? 'undefined'} within ${max ?? 64}`)
})

t.test('clipUntrusted: cut at the bound with ..., otherwise untouched', async (t) => {
  const cases: [string, number | undefined, string][] = [
    ['api', undefined, 'api'],
    ['', undefined, ''],
    ['x'.repeat(64), undefined, 'x'.repeat(64)],
    ['x'.repeat(65), undefined, `${'x'.repeat(64)}...`],
    ['x'.repeat(101), 100, `${'x'.repeat(100)}...`],
    ['x'.repeat(100), 100, 'x'.repeat(100)],
    ['say "hi"', undefined, 'say "hi"'],
  ]
  for (const [value, max, expected] of cases) t.equal(clipUntrusted(value, max), expected, `${value.length} characters within ${max ?? 64}`)
})
