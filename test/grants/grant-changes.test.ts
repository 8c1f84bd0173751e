import pg from 'pg'
import t from 'tap'
import { SqlAuditLog } from '../../src/audit/sql-audit-log.js'
import { createPostgresDatabase } from '../../src/db/postgres.js'
import { migrate } from '../../src/db/migrations.js'
import type { GrantChange, GrantDraft } from '../../src/grants/grant-store.js'
import { SqlGrantStore } from '../../src/grants/sql-grant-store.js'
import { BACKENDS } from '../support/databases.js'
import { eventually } from '../support/eventually.js'
import { freshPostgresDatabase } from '../support/servers.js'
import { grantDraft } from '../support/grant-drafts.js'

/** The durable sequence of grant changes (migrations/010_grant_changes.sql), on both backends. */

const T0 = new Date(Date.UTC(2026, 10, 23, 12, 0, 0))
const ACTOR = { name: 'platform-team', requestId: 'req-1' }

const draft = (overrides: Partial<GrantDraft> = {}): GrantDraft => grantDraft(T0.getTime(), overrides)

/** What a reader learns from changes: the id, whether it is deleted, and the description it reads. */
function summary(changes: GrantChange[]): [string, string][] {
  return changes.map((c) => [c.id, c.grant === undefined ? 'deleted' : `${c.grant.enabled ? 'on' : 'off'}:${c.grant.description}`])
}

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`grant changes on ${backend}`, async (t) => {
    const db = await open(t)
    const store = new SqlGrantStore(db, new SqlAuditLog(db))
    t.equal(await store.lastSeq(), 0n, 'nothing changed yet')
    t.same(await store.changesSince(0n, 100), [])

    const a = await store.create(draft({ description: 'a' }), T0, ACTOR)
    const b = await store.create(draft({ description: 'b' }), T0, ACTOR)
    const afterCreates = await store.lastSeq()
    const creates = await store.changesSince(0n, 100)
    t.same(summary(creates), [
      [a.id, 'on:a'],
      [b.id, 'on:b'],
    ])
    t.same(creates[0]!.grant, a, 'a change carries the whole grant as it stands')
    t.equal(creates[1]!.seq, afterCreates, 'the last position is the last change')
    t.ok(creates[0]!.seq < creates[1]!.seq)

    await store.replace(a.id, draft({ description: 'a2' }), 1, T0, ACTOR)
    await store.disable(b.id, T0, ACTOR)
    t.same(summary(await store.changesSince(afterCreates, 100)), [
      [a.id, 'on:a2'],
      [b.id, 'off:b'],
    ])
    t.same(
      summary(await store.changesSince(0n, 100)),
      summary(await store.changesSince(afterCreates, 100)),
      'each grant once, as it stands',
    )
    t.same(summary(await store.changesSince(0n, 1)), [[a.id, 'on:a2']], 'at most `limit`, the earliest first')

    const beforeByHand = await store.lastSeq()
    await db.query(`UPDATE grants SET description = 'by hand' WHERE id = $1`, [a.id])
    t.same(summary(await store.changesSince(beforeByHand, 100)), [[a.id, 'on:by hand']], 'an UPDATE made by hand in SQL is a change too')
    const beforeDelete = await store.lastSeq()
    await db.query('DELETE FROM grants WHERE id = $1', [b.id])
    const deleted = await store.changesSince(beforeDelete, 100)
    t.same(summary(deleted), [[b.id, 'deleted']], 'so is a DELETE made by hand')
    t.equal(await store.lastSeq(), deleted[0]!.seq, 'and the last position counts deletions')
    t.same(summary(await store.changesSince(0n, 100)), [
      [a.id, 'on:by hand'],
      [b.id, 'deleted'],
    ])
  })
}

/**
 * Sequence order is not commit order by itself: a writer can take number 5, another take 6 and commit
 * first, and a reader that moved to 6 would never see 5. The trigger's lock makes the second writer
 * wait for the first to end, so no position is ever passed with a lower one still to commit.
 */
t.test('a reader never skips a change committed after a later-numbered one (Postgres)', async (t) => {
  const url = await freshPostgresDatabase(t)
  const db = createPostgresDatabase({ url, poolSize: 4 })
  t.teardown(() => db.close())
  await migrate(db)
  const store = new SqlGrantStore(db, new SqlAuditLog(db))
  const first = await store.create(draft({ description: 'first' }), T0, ACTOR)
  const second = await store.create(draft({ description: 'second' }), T0, ACTOR)
  let position = await store.lastSeq()
  const seen: GrantChange[] = []
  const read = async () => {
    const changes = await store.changesSince(position, 100)
    seen.push(...changes)
    position = changes.at(-1)?.seq ?? position
  }

  const slow = new pg.Client({ connectionString: url })
  await slow.connect()
  t.teardown(() => slow.end())
  await slow.query('BEGIN')
  await slow.query(`UPDATE grants SET description = 'slow' WHERE id = $1`, [first.id])
  // A quicker writer starts after the slow one took its number and would commit first.
  const quick = db.query(`UPDATE grants SET description = 'quick' WHERE id = $1`, [second.id])
  let quickDone = false
  void quick.then(() => (quickDone = true))
  const waiting = await eventually(
    t,
    async () =>
      quickDone ||
      (await db.query<{ waiting: boolean }>(`SELECT count(*) > 0 AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`))[0]!
        .waiting,
  )
  t.ok(waiting)
  t.notOk(quickDone, 'the quicker writer waits for the slow one to end')
  await read()
  await slow.query('COMMIT')
  await quick
  await read()
  t.same(
    summary(seen),
    [
      [first.id, 'on:slow'],
      [second.id, 'on:quick'],
    ],
    'the reader has both changes, in commit order',
  )
})

t.test('concurrent writers on Postgres: a reader following positions loses no change', async (t) => {
  const url = await freshPostgresDatabase(t)
  const db = createPostgresDatabase({ url, poolSize: 8 })
  t.teardown(() => db.close())
  await migrate(db)
  const store = new SqlGrantStore(db, new SqlAuditLog(db))
  const latest = new Map<string, string>()
  let position = 0n
  let writing = true
  const reader = (async () => {
    while (writing) {
      for (const change of await store.changesSince(position, 50)) {
        latest.set(change.id, change.grant?.description ?? 'deleted')
        position = change.seq
      }
    }
  })()
  const writers = Array.from({ length: 8 }, async (_, w) => {
    for (let i = 0; i < 15; i++) {
      const grant = await store.create(draft({ description: `w${w}-${i}` }), T0, ACTOR)
      await store.replace(grant.id, draft({ description: `w${w}-${i}-replaced` }), 1, T0, ACTOR)
    }
  })
  await Promise.all(writers)
  writing = false
  await reader
  for (const change of await store.changesSince(position, 1000)) latest.set(change.id, change.grant?.description ?? 'deleted')
  const rows = await db.query<{ id: string; description: string }>('SELECT id, description FROM grants')
  t.equal(rows.length, 120)
  t.same(new Map(rows.map((r) => [r.id, r.description])), latest, 'what the reader holds is the table')
})
