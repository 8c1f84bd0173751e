import { readdirSync, readFileSync } from 'node:fs'
import t from 'tap'
import { ADVISORY_LOCKS } from '../../src/db/advisory-locks.js'
import { readMigrations } from '../../src/db/migrations.js'

/** Every .ts file under `dir`, with its text. */
function sources(dir: URL): { path: string; text: string }[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => ({ path: name, text: readFileSync(new URL(name, dir), 'utf8') }))
}

t.test('every advisory lock of the service has its own id', async (t) => {
  const ids = Object.values(ADVISORY_LOCKS)
  t.equal(new Set(ids).size, ids.length, JSON.stringify(ADVISORY_LOCKS))
})

t.test('the lock ids the migrations take are the ones the module lists, each named beside it', async (t) => {
  const known = new Map(Object.entries(ADVISORY_LOCKS).map(([name, id]) => [String(id), name]))
  const taken = readMigrations().flatMap((migration) =>
    [...migration.sql.matchAll(/pg_advisory\w*lock\((\d+)\)/g)].map((match) => ({ migration: migration.version, id: match[1] ?? '' })),
  )
  t.same(
    taken.map(({ migration, id }) => [migration, known.get(id)]),
    [
      ['010_grant_changes', 'grantChanges'],
      ['010_grant_changes', 'grantChanges'],
      ['014_revocation_change_order', 'revocationChanges'],
    ],
  )
  for (const { migration, id } of taken) {
    const sql = readMigrations().find((m) => m.version === migration)?.sql ?? ''
    t.match(sql, `-- ${id}: ADVISORY_LOCKS.${known.get(id)} in src/db/advisory-locks.ts`, `${migration} says where ${id} is listed`)
  }
})

t.test('no code takes an advisory lock by a number of its own', async (t) => {
  const src = new URL('../../src/', import.meta.url)
  const literal = /\b7_?305_?553_?\d{3}\b/
  t.same(
    sources(src)
      .filter(({ path, text }) => path !== 'db/advisory-locks.ts' && literal.test(text))
      .map(({ path }) => path),
    [],
  )
})
