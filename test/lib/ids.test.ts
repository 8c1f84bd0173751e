import t from 'tap'
import { isLowerCaseUuid, Uuid, UUID_PATTERN } from '../../src/lib/ids.js'

const LOWER = '0b8f3c2e-0000-4000-8000-00000000abcd'
const UPPER = '0B8F3C2E-0000-4000-8000-00000000ABCD'

t.test('one UUID check: the canonical 8-4-4-4-12 form, and nothing that merely looks like it', async (t) => {
  const cases: [string, string, boolean, boolean][] = [
    // value, why, a UUID?, a lower-case UUID?
    [LOWER, 'lower case', true, true],
    [UPPER, 'upper case, which Postgres reads as the same id', true, false],
    ['0b8f3c2e-0000-4000-8000-00000000ABcd', 'mixed case', true, false],
    ['00000000-0000-0000-0000-000000000000', 'any version and variant: ids are ours, not RFC 9562 generators', true, true],
    ['-'.repeat(36), '36 dashes', false, false],
    [`{${LOWER}}`, 'braces', false, false],
    [LOWER.replaceAll('-', ''), 'no dashes', false, false],
    [`${LOWER}0`, 'one digit too many', false, false],
    [`${LOWER}\n`, 'a trailing newline', false, false],
    [LOWER.replace('a', 'g'), 'not hex', false, false],
    ['0b8f3c2e-0000-4000-8000-00000000abc\u212a', 'the Kelvin sign, which upper-cases to K', false, false],
    ['', 'empty', false, false],
  ]
  for (const [value, why, uuid, lowerCase] of cases) {
    t.equal(UUID_PATTERN.test(value), uuid, `UUID_PATTERN: ${why}`)
    t.equal(isLowerCaseUuid(value), lowerCase, `isLowerCaseUuid: ${why}`)
    t.equal(Uuid.safeParse(value).success, uuid, `Uuid schema: ${why}`)
  }
})

t.test('the admin API says what an id must look like', async (t) => {
  t.same(
    Uuid.safeParse('not-an-id').error?.issues.map((issue) => issue.message),
    ['must be a UUID, e.g. 0b8f3c2e-0000-4000-8000-000000000000'],
  )
})
