import t, { type Test } from 'tap'
import { partitionOfName } from '../../src/audit/audit-partitions.js'
import { SqlAuditLog } from '../../src/audit/sql-audit-log.js'
import { SqlAuditPartitions } from '../../src/audit/sql-audit-partitions.js'
import type { Database } from '../../src/db/database.js'
import { migrate, readMigrations } from '../../src/db/migrations.js'
import { createPGliteDatabase } from '../../src/db/pglite.js'
import { createPostgresDatabase } from '../../src/db/postgres.js'
import { freshPostgresDatabase } from '../support/servers.js'

const ROWS = 200_000

/** How the previous release writes and reads the audit log: it keeps doing so during a rolling restart. */
const PREVIOUS_RELEASE_INSERT = `INSERT INTO audit_log (at, actor, action, target_type, target_id, before, after, request_id)
  VALUES (now(), 'old-replica', 'grant.create', 'grant', $1, NULL, '{"id": 1}', 'req-old')`
const PREVIOUS_RELEASE_PAGE = `SELECT * FROM audit_log WHERE target_type = 'grant' AND id > $1 ORDER BY id LIMIT 101`

const backends = {
  postgres: async (t: Test) => {
    const db = createPostgresDatabase({ url: await freshPostgresDatabase(t), poolSize: 4 })
    t.teardown(() => db.close())
    return db
  },
  pglite: async (t: Test) => {
    const db = await createPGliteDatabase()
    t.teardown(() => db.close())
    return db
  },
}

for (const [backend, open] of Object.entries(backends)) {
  t.test(`migration 012 partitions a prefilled audit log on ${backend}, with the previous release writing throughout`, async (t) => {
    const db: Database = await open(t)
    // Up to 012 and no further: the migrations after it are not what this upgrade is about.
    const all = readMigrations().filter((m) => m.version < '013')
    await migrate(
      db,
      all.filter((m) => m.version < '012'),
    )
    // 200,000 entries, one every 3 minutes back over 416 days, on four kinds of target.
    await db.query(
      `INSERT INTO audit_log (at, actor, action, target_type, target_id, before, after, request_id)
       SELECT now() - i * interval '3 minutes', 'alice', 'grant.create', (ARRAY['grant', 'revocation', 'admin-token', 'registration'])[1 + i % 4],
              'target-' || i, NULL, jsonb_build_object('n', i), 'req-' || i
       FROM generate_series(1, ${ROWS}) AS i`,
    )
    const pageBefore = await db.query(PREVIOUS_RELEASE_PAGE, ['150000'])
    const summary = `SELECT count(*)::int AS n, min(id)::text AS min, max(id)::text AS max, sum(id)::text AS sum,
      count(DISTINCT target_id)::int AS targets FROM audit_log WHERE actor = 'alice'`
    const [before] = await db.query(summary)

    // The previous release goes on writing while the migration runs (Postgres: from its own connections).
    let writing = backend === 'postgres'
    let written = 0
    const writer = (async () => {
      while (writing) await db.query(PREVIOUS_RELEASE_INSERT, [`during-${written++}`])
    })()
    const started = performance.now()
    t.same(await migrate(db, all), ['012_audit_and_revocation_retention'])
    t.comment(`migrated ${ROWS} audit entries in ${Math.round(performance.now() - started)} ms on ${backend}`)
    writing = false
    await writer
    if (backend === 'postgres') t.ok(written > 0, `the previous release wrote ${written} entries meanwhile`)
    await db.query(PREVIOUS_RELEASE_INSERT, ['after'])

    t.same((await db.query(summary))[0], before, 'every entry kept, ids unchanged')
    t.same(await db.query(PREVIOUS_RELEASE_PAGE, ['150000']), pageBefore, "the previous release's pages read the same")
    const oldReplica = await db.query<{ id: string; target_id: string }>(
      `SELECT id::text, target_id FROM audit_log WHERE actor = 'old-replica' ORDER BY id`,
    )
    t.same(
      oldReplica.map((row) => row.target_id),
      [...Array.from({ length: written }, (_, i) => `during-${i}`), 'after'],
      'every write of the previous release landed, in order',
    )
    t.ok(BigInt(oldReplica[0].id) > BigInt(before.max as string), 'after the existing ids')

    const partitions = await db.query<{ name: string; bound: string }>(
      `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'audit_log'::regclass ORDER BY 1`,
    )
    const legacy = partitions[0].name
    const to = partitionOfName(legacy)!.to
    t.match(legacy, /^audit_log_before_\d{4}_\d{2}$/)
    t.same(
      partitions.map((p) => p.name),
      [legacy, 'audit_log_default'],
    )
    t.ok(to.getTime() > Date.now() && to.getTime() - Date.now() <= 31 * 86_400_000, 'the old table holds up to the next month boundary')

    // The new release reads the same pages through its store.
    const audit = new SqlAuditLog(db)
    const page = await audit.list({ targetType: 'grant', cursor: '150000', limit: 100 })
    t.same(
      page.items.map((e) => String(e.id)),
      pageBefore.slice(0, 100).map((row) => String(row.id)),
    )

    // Partitions ahead, then retention drops the old table whole: the id sequence outlives it.
    const store = new SqlAuditPartitions(db)
    t.same(await store.prepare(to, 0), [`audit_log_${to.getUTCFullYear()}_${String(to.getUTCMonth() + 1).padStart(2, '0')}`])
    t.same(await store.dropBefore(to), [legacy])
    await db.query(`INSERT INTO audit_log (at, actor, action, target_type, target_id) VALUES ($1, 'bob', 'grant.create', 'grant', 'new')`, [
      to,
    ])
    const [fresh] = await db.query<{ id: string }>(`SELECT id::text FROM audit_log WHERE actor = 'bob'`)
    t.ok(BigInt(fresh.id) > BigInt(oldReplica.at(-1)!.id), 'ids go on after the old table is dropped')
    t.same(await db.query(`SELECT count(*)::int AS n FROM audit_log`), [{ n: 1 }])
  })
}
