import t from 'tap'
import { migrate, readMigrations } from '../../src/db/migrations.js'
import { createPostgresDatabase } from '../../src/db/postgres.js'
import { freshPostgresDatabase } from '../support/servers.js'

t.test('instances starting together apply each migration exactly once', async (t) => {
  const url = await freshPostgresDatabase(t)
  const instances = [1, 2, 3].map(() => createPostgresDatabase({ url, poolSize: 2 }))
  t.teardown(() => Promise.all(instances.map((db) => db.close())))
  const applied = await Promise.all(instances.map((db) => migrate(db)))
  const versions = readMigrations().map((m) => m.version)
  t.same(applied.flat().sort(), versions, 'between them, every migration once')
  const rows = await instances[0].query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version')
  t.same(
    rows.map((r) => r.version),
    versions,
  )
  t.same(await migrate(instances[1]), [], 'a later start has nothing to do')
})

t.test('an applied migration that was edited stops the start', async (t) => {
  const db = createPostgresDatabase({ url: await freshPostgresDatabase(t), poolSize: 2 })
  t.teardown(() => db.close())
  const migrations = readMigrations()
  await migrate(db, migrations)
  const edited = migrations.map((m, i) => (i === 0 ? { ...m, checksum: 'edited' } : m))
  await t.rejects(migrate(db, edited), {
    message: `migration ${migrations[0].version} was changed after it was applied; add a new migration instead`,
  })
})

t.test('a failing migration leaves nothing half applied', async (t) => {
  const db = createPostgresDatabase({ url: await freshPostgresDatabase(t), poolSize: 2 })
  t.teardown(() => db.close())
  const broken = [{ version: '001_broken', sql: 'CREATE TABLE half (id int); SELECT no_such_function();', checksum: 'x' }]
  await t.rejects(migrate(db, broken), /migration 001_broken failed/)
  const tables = await db.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'half'")
  t.same(tables, [], 'the transaction rolled back')
})
