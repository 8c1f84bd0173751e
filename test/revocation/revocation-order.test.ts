import pg from 'pg'
import t, { type Test } from 'tap'
import { createPostgresDatabase } from '../../src/db/postgres.js'
import { migrate } from '../../src/db/migrations.js'
import { sequenceCursor } from '../../src/db/sql.js'
import { SqlRevocationLog } from '../../src/revocation/sql-revocation-log.js'
import type { Revocation } from '../../src/revocation/revocation.js'
import { eventually } from '../support/eventually.js'
import { freshPostgresDatabase } from '../support/servers.js'

/**
 * Positions in the revocation log are in commit order (migrations/014_revocation_change_order.sql): a
 * poller or a stream that resumes after the last position it read never misses a revocation that
 * committed after a later-numbered one.
 */

const T0 = new Date(Date.UTC(2026, 10, 29, 12, 0, 0))

async function openLog(t: Test) {
  const url = await freshPostgresDatabase(t)
  const db = createPostgresDatabase({ url, poolSize: 8 })
  t.teardown(() => db.close())
  await migrate(db)
  return { url, db, log: new SqlRevocationLog(db) }
}

function draft(value: string) {
  return { kind: 'subject' as const, value, reason: 'incident', createdAt: T0, createdBy: 'responder', expiresAt: null }
}

/** Reads everything after `position`, page by page, as a poller does; answers the new position. */
async function follow(log: SqlRevocationLog, position: bigint, seen: Revocation[]): Promise<bigint> {
  for (;;) {
    const page = await log.list({ cursor: sequenceCursor(position), limit: 50 }, T0)
    seen.push(...page.items)
    position = page.items.at(-1)?.seq ?? position
    if (page.nextCursor === undefined) return position
  }
}

t.test('a slow revocation holds back the ones after it, so a reader moving on never skips it', async (t) => {
  const { url, db, log } = await openLog(t)
  await log.transaction((tx) => log.insert(tx, draft('spiffe://example.org/before')))
  const seen: Revocation[] = []
  let position = await follow(log, 0n, seen)

  const slow = new pg.Client({ connectionString: url })
  await slow.connect()
  t.teardown(() => slow.end())
  await slow.query('BEGIN')
  await slow.query(
    `INSERT INTO revocations (id, kind, value, reason, created_at, created_by) VALUES (gen_random_uuid(), 'subject', 'spiffe://example.org/slow', 'incident', now(), 'responder')`,
  )
  let quickDone = false
  const quick = log.transaction((tx) => log.insert(tx, draft('spiffe://example.org/quick'))).then(() => (quickDone = true))
  await eventually(
    t,
    async () =>
      quickDone ||
      (await db.query<{ waiting: boolean }>(`SELECT count(*) > 0 AS waiting FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`))[0]!
        .waiting,
  )
  t.notOk(quickDone, 'the quicker revocation waits for the slow one to end')
  position = await follow(log, position, seen)
  await slow.query('COMMIT')
  await quick
  await follow(log, position, seen)
  t.same(
    seen.map((r) => r.value),
    ['spiffe://example.org/before', 'spiffe://example.org/slow', 'spiffe://example.org/quick'],
    'the reader has every revocation, in commit order',
  )
})

t.test('concurrent revocations and lifts: a reader following positions holds exactly the log', async (t) => {
  const { db, log } = await openLog(t)
  const latest = new Map<string, string>()
  let position = 0n
  let writing = true
  const reader = (async () => {
    while (writing) {
      const seen: Revocation[] = []
      position = await follow(log, position, seen)
      for (const revocation of seen) latest.set(revocation.id, revocation.liftedAt === null ? 'standing' : 'lifted')
    }
  })()
  const writers = Array.from({ length: 8 }, async (_, w) => {
    for (let i = 0; i < 15; i++) {
      const made = await log.transaction((tx) => log.insert(tx, draft(`spiffe://example.org/w${w}/${i}`)))
      if (i % 2 === 0) await log.transaction((tx) => log.lift(tx, made.id, T0, 'responder', 'all clear'))
    }
  })
  await Promise.all(writers)
  writing = false
  await reader
  const rest: Revocation[] = []
  await follow(log, position, rest)
  for (const revocation of rest) latest.set(revocation.id, revocation.liftedAt === null ? 'standing' : 'lifted')
  const rows = await db.query<{ id: string; lifted: boolean }>('SELECT id, lifted_at IS NOT NULL AS lifted FROM revocations')
  t.equal(rows.length, 120)
  t.same(latest, new Map(rows.map((r) => [r.id, r.lifted ? 'lifted' : 'standing'])), 'what the reader holds is the log')
})
