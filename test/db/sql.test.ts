import t from 'tap'
import { createPGliteDatabase } from '../../src/db/pglite.js'
import { decodeCursor, decodeSequenceCursor, encodeCursor, pageOf, sequenceCursor, SqlConditions } from '../../src/db/sql.js'
import { InvalidInputError } from '../../src/errors.js'

const INVALID_CURSOR = {
  message: 'the cursor is not one this API handed out',
  reason: 'input_invalid',
  errors: [{ path: 'cursor', message: 'invalid cursor' }],
}

t.test('conditions: each value a numbered parameter, in the order added, each condition kept whole', async (t) => {
  const cases: { build: (c: SqlConditions) => void; where: string; params: unknown[]; why: string }[] = [
    { build: () => {}, where: '', params: [], why: 'no condition, no WHERE' },
    { build: (c) => c.add('owner = ?', 'team-a'), where: 'WHERE (owner = $1)', params: ['team-a'], why: 'one condition' },
    {
      build: (c) => c.add('owner = ?', 'team-a').add('(created_at, id) > (?, ?)', 'T', 'ID'),
      where: 'WHERE (owner = $1) AND ((created_at, id) > ($2, $3))',
      params: ['team-a', 'T', 'ID'],
      why: 'several placeholders in one condition',
    },
    {
      build: (c) => c.add('archived').add('kind = ?', 'grant'),
      where: 'WHERE (archived) AND (kind = $1)',
      params: ['grant'],
      why: 'a condition without a value',
    },
    {
      build: (c) => c.add('lifted_at IS NOT NULL OR expires_at <= ?', 5).add('kind = ?', 'token'),
      where: 'WHERE (lifted_at IS NOT NULL OR expires_at <= $1) AND (kind = $2)',
      params: [5, 'token'],
      why: 'an OR stays inside its own condition',
    },
    {
      build: (c) => c.add('value = ?', "x'; DROP TABLE grants; --"),
      where: 'WHERE (value = $1)',
      params: ["x'; DROP TABLE grants; --"],
      why: 'values never become SQL text',
    },
  ]
  for (const { build, where, params, why } of cases) {
    const conditions = new SqlConditions()
    build(conditions)
    t.equal(conditions.where, where, `${why}: where`)
    t.same(conditions.params, params, `${why}: params`)
  }
})

t.test('param binds one more value after the conditions, such as a LIMIT', async (t) => {
  const conditions = new SqlConditions().add('owner = ?', 'team-a')
  t.equal(conditions.param(11), '$2')
  t.same(conditions.params, ['team-a', 11])
})

t.test('a condition whose placeholders and values disagree is a programming mistake', async (t) => {
  t.throws(() => new SqlConditions().add('a = ? AND b = ?', 1), {
    name: 'TypeError',
    message: 'a = ? AND b = ? has 2 placeholders for 1 values',
  })
  t.throws(() => new SqlConditions().add('a = 1', 1), TypeError)
})

t.test('what the conditions select, on a real database: an OR never widens its neighbours', async (t) => {
  const db = await createPGliteDatabase()
  t.teardown(() => db.close())
  const conditions = new SqlConditions().add('kind = ? OR kind = ?', 'a', 'b').add('n > ?', 1)
  const limit = conditions.param(10)
  const rows = await db.query<{ id: string }>(
    `SELECT id FROM (VALUES ('one', 'a', 1), ('two', 'a', 2), ('three', 'b', 3), ('four', 'c', 4)) AS t(id, kind, n) ${conditions.where} ORDER BY n LIMIT ${limit}`,
    conditions.params,
  )
  t.same(
    rows.map((row) => row.id),
    ['two', 'three'],
  )
})

t.test('a glob: equality for a plain value, else its regex bounded by the range of its literal prefix', async (t) => {
  const sqlOf = (glob: string) => {
    const conditions = new SqlConditions().matchGlob('subject', glob)
    return [conditions.where, conditions.params]
  }
  t.same(sqlOf('spiffe://td/ns/a'), ['WHERE (subject = $1)', ['spiffe://td/ns/a']])
  t.same(sqlOf('spiffe://td/ns/a?/sa/*'), [
    'WHERE (subject ~>=~ $1) AND (subject ~<~ $2) AND (regexp_like(subject, $3))',
    ['spiffe://td/ns/a', 'spiffe://td/ns/b', '^spiffe://td/ns/a[^/]/sa/[^/]*$'],
  ])
  t.same(sqlOf('**/sa/api'), ['WHERE (regexp_like(subject, $1))', ['^.*/sa/api$']], 'no literal prefix, no range')
  t.same(
    sqlOf('spiffe://td/ns/é*'),
    ['WHERE (subject ~>=~ $1) AND (regexp_like(subject, $2))', ['spiffe://td/ns/é', '^spiffe://td/ns/é[^/]*$']],
    'a prefix ending outside ASCII has no upper bound',
  )
})

t.test('what a glob selects on a real database: the values it matches, the range never narrowing it', async (t) => {
  const db = await createPGliteDatabase()
  t.teardown(() => db.close())
  const values = [
    'spiffe://td/ns/a',
    'spiffe://td/ns/a/x',
    'spiffe://td/ns/b/x',
    'spiffe://td/ns/a~/x',
    'spiffe://td/ns/é/x',
    'spiffe://td/ns/éé/x',
  ]
  const select = async (glob: string) => {
    const conditions = new SqlConditions().matchGlob('v', glob)
    const rows = await db.query<{ v: string }>(
      `SELECT v FROM unnest($${conditions.params.length + 1}::text[]) AS t(v) ${conditions.where} ORDER BY v COLLATE "C"`,
      [...conditions.params, values],
    )
    return rows.map((row) => row.v)
  }
  t.same(await select('spiffe://td/ns/a*/x'), ['spiffe://td/ns/a/x', 'spiffe://td/ns/a~/x'])
  t.same(await select('spiffe://td/ns/é*/x'), ['spiffe://td/ns/é/x', 'spiffe://td/ns/éé/x'])
  t.same(await select('spiffe://td/ns/a'), ['spiffe://td/ns/a'])
})

t.test('a page: at most limit items, and a next cursor only when the extra row says there is more', async (t) => {
  const after = (last: number) => `after-${last}`
  const cases: [number[], number, { items: number[]; nextCursor?: string }][] = [
    [[], 3, { items: [] }],
    [[1, 2], 3, { items: [1, 2] }],
    [[1, 2, 3], 3, { items: [1, 2, 3] }],
    [[1, 2, 3, 4], 3, { items: [1, 2, 3], nextCursor: 'after-3' }],
    [[1, 2], 1, { items: [1], nextCursor: 'after-1' }],
  ]
  for (const [rows, limit, expected] of cases) t.same(pageOf(rows, limit, after), expected, `${rows.length} rows, limit ${limit}`)
})

t.test('opaque cursors: the position round-trips, anything else is refused as a cursor the API did not hand out', async (t) => {
  const read = ([at, id]: readonly unknown[]) => (typeof at === 'string' && typeof id === 'string' ? { at, id } : undefined)
  const position = ['2026-11-29T08:00:00.000Z', '0b8f3c2e-0000-4000-8000-000000000000']
  const cursor = encodeCursor(position)
  t.equal(cursor, Buffer.from(JSON.stringify(position)).toString('base64url'), 'base64url of a JSON array: the form clients already hold')
  t.same(decodeCursor(cursor, read), { at: position[0], id: position[1] })

  const refused: [string, string][] = [
    ['not-a-cursor', 'not base64url JSON'],
    ['', 'empty'],
    [Buffer.from('"ab"').toString('base64url'), 'a JSON string, not an array'],
    [Buffer.from('{"0":"a","1":"b"}').toString('base64url'), 'an object'],
    [Buffer.from('["a"]').toString('base64url'), 'parts the store does not accept'],
    [Buffer.from('[1, 2]').toString('base64url'), 'parts of the wrong type'],
  ]
  for (const [bad, why] of refused) {
    const error = t.throws(() => decodeCursor(bad, read), why) as InvalidInputError
    t.ok(error instanceof InvalidInputError, `${why}: a 400, not a 500`)
    t.match(error, INVALID_CURSOR, `${why}: said as such`)
  }
})

t.test('sequence cursors: the position itself in decimal, up to the largest Postgres bigint', async (t) => {
  t.equal(sequenceCursor(42), '42')
  t.equal(sequenceCursor(9_223_372_036_854_775_807n), '9223372036854775807', 'every digit of a bigint')
  const accepted: [string, bigint][] = [
    ['0', 0n],
    ['42', 42n],
    ['007', 7n],
    ['9223372036854775807', 9_223_372_036_854_775_807n],
  ]
  for (const [cursor, position] of accepted) t.equal(decodeSequenceCursor(cursor), position, cursor)
  for (const bad of ['', '-1', '1.5', '1e3', ' 1', '0x10', '9223372036854775808', '12345678901234567890']) {
    t.throws(() => decodeSequenceCursor(bad), INVALID_CURSOR, JSON.stringify(bad))
  }
})
