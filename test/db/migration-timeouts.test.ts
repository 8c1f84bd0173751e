import t from 'tap'
import { migrate, readMigrations } from '../../src/db/migrations.js'
import { createPostgresDatabase } from '../../src/db/postgres.js'
import { eventually } from '../support/eventually.js'
import { freshPostgresDatabase } from '../support/servers.js'

/** The migrations not released yet when their timeouts were set; earlier ones are history, never edited. */
const CHECKED_FROM = '010'

t.test('every migration that locks a table it did not create waits at most a short lock_timeout', async (t) => {
  for (const { version, sql } of readMigrations().filter((m) => m.version >= CHECKED_FROM)) {
    const body = sql.replace(/^--.*$/gm, '')
    const locks = /\b(ALTER TABLE|CREATE TRIGGER|LOCK TABLE)\b/.test(body)
    if (!locks) continue
    const timeout = /^SET LOCAL lock_timeout = '(\d+)ms';$/m.exec(body)
    t.ok(timeout !== null && Number(timeout[1]) <= 1000, `${version} sets a lock_timeout of a second at most`)
    t.ok(timeout !== null && body.indexOf(timeout[0]) < body.search(/\b(ALTER|CREATE|INSERT|DO)\b/), `${version} sets it first`)
  }
})

t.test('migration 012, which reads the whole old audit table, lifts the statement timeout for itself', async (t) => {
  const sql = readMigrations().find((m) => m.version.startsWith('012'))?.sql ?? ''
  t.match(sql, /^SET LOCAL statement_timeout = 0;$/m)
})

t.test('a migration waiting for a table held by a long query gives up instead of holding its writers up', async (t) => {
  const db = createPostgresDatabase({ url: await freshPostgresDatabase(t), poolSize: 4 })
  t.teardown(() => db.close())
  await migrate(
    db,
    readMigrations().filter((m) => m.version < '010'),
  )
  let release: () => void = () => {}
  const released = new Promise<void>((resolve) => (release = resolve))
  let locked: () => void = () => {}
  const lockHeld = new Promise<void>((resolve) => (locked = resolve))
  // A long read of the grants table, held open until the migration has given up (or the test ends).
  const holding = db.transaction(async (tx) => {
    await tx.query('LOCK TABLE grants IN ACCESS SHARE MODE')
    locked()
    await released
  })
  t.teardown(async () => {
    release()
    await holding
  })
  // Only once it is held: a migration started first could apply 010 and meet the lock at a later one.
  await lockHeld
  let outcome: unknown
  const migrating = migrate(db).then(
    () => (outcome = 'applied'),
    (error: unknown) => (outcome = (error as Error).message),
  )
  await eventually(t, () => outcome, { what: 'the migration to give up' })
  t.equal(outcome, 'migration 010_grant_changes failed: canceling statement due to lock timeout')
  release()
  await holding
  await migrating
  t.same(
    await migrate(db),
    readMigrations()
      .filter((m) => m.version >= '010')
      .map((m) => m.version),
    'and applies at the next start',
  )
})
