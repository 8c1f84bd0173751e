import t from 'tap'
import type { Database } from '../../src/db/database.js'
import { LedgerDictionary } from '../../src/ledger/ledger-dictionary.js'
import { BACKENDS } from '../support/databases.js'

/** What the database holds: each string and its number. */
async function stored(db: Database, table: 'ledger_subjects' | 'ledger_sources'): Promise<Map<string, number>> {
  const column = table === 'ledger_subjects' ? 'subject' : 'source'
  const rows = await db.query<{ id: number; value: string }>(`SELECT id, ${column} AS value FROM ${table}`)
  return new Map(rows.map((row) => [row.value, row.id]))
}

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`the ledger's dictionaries on ${backend}`, async (t) => {
    const db = await open(t)

    await t.test('a string is numbered once, and every instance reads the same number for it', async (t) => {
      const first = new LedgerDictionary(db)
      const subjects = ['spiffe://example.org/a', 'spiffe://example.org/b', 'spiffe://example.org/a']
      const numbered = await first.subjectIds(subjects)
      const inDatabase = await stored(db, 'ledger_subjects')
      t.same(numbered, new Map([...inDatabase].filter(([subject]) => subjects.includes(subject))))
      t.equal(inDatabase.size, 2, 'a repeated string is one entry')
      // Another instance, which never saw them: the same numbers, and nothing numbered again.
      t.same(await new LedgerDictionary(db).subjectIds(['spiffe://example.org/b', 'spiffe://example.org/a']), numbered)
      t.same(await stored(db, 'ledger_subjects'), inDatabase)
      // Subjects and sources are numbered apart: a source spelled as a subject is a source of its own.
      const sources = await first.sourceIds(['spiffe://example.org/a', 'k8s:prod'])
      t.same([...(await stored(db, 'ledger_sources'))].sort(), [...sources].sort())
    })

    await t.test('instances numbering the same new strings at once agree, and neither fails', async (t) => {
      const strings = Array.from({ length: 300 }, (_, i) => `k8s:prod:pod:${i}`)
      const shuffled = [...strings].reverse()
      const instances = Array.from({ length: 4 }, () => new LedgerDictionary(db))
      const answers = await Promise.all(instances.map((dictionary, i) => dictionary.sourceIds(i % 2 === 0 ? strings : shuffled)))
      const inDatabase = await stored(db, 'ledger_sources')
      for (const answer of answers) t.same(answer, new Map(strings.map((s) => [s, inDatabase.get(s)])))
      t.equal(new Set(strings.map((s) => inDatabase.get(s))).size, strings.length, 'a number each')
    })

    await t.test('memory is bounded: the least recently used go, and read back they have the same number', async (t) => {
      const dictionary = new LedgerDictionary(db, 3)
      const names = ['s1', 's2', 's3', 's4', 's5'].map((s) => `spiffe://example.org/${s}`)
      const numbers = await dictionary.subjectIds(names)
      t.same(dictionary.cached, { subjects: 3, sources: 0 })
      let reads = 0
      const counting = new LedgerDictionary({ ...db, query: (sql, params) => (reads++, db.query(sql, params)) }, 3)
      t.same(await counting.subjectIds(names.slice(0, 3)), new Map(names.slice(0, 3).map((n) => [n, numbers.get(n)])))
      t.equal(reads, 1, 'strings numbered before are read, not numbered again')
      t.same(await counting.subjectIds(names.slice(1, 3)), new Map(names.slice(1, 3).map((n) => [n, numbers.get(n)])))
      t.equal(reads, 1, 'kept ones cost no round trip')
      await counting.subjectIds(names.slice(3))
      t.equal(reads, 2)
      // s1 was the least recently used of the three kept: gone, read again.
      await counting.subjectIds([names[0] ?? ''])
      t.equal(reads, 3)
    })
  })
}
