import t from 'tap'
import { partitionOfName } from '../../src/audit/audit-partitions.js'
import type { AuditEntry } from '../../src/audit/audit-log.js'
import { SqlAuditLog } from '../../src/audit/sql-audit-log.js'
import { SqlAuditPartitions } from '../../src/audit/sql-audit-partitions.js'
import type { Database } from '../../src/db/database.js'
import { GoneError, type StsError } from '../../src/errors.js'
import { BACKENDS } from '../support/databases.js'

const DAY = 86_400_000

/** The partitions of audit_log by name, and where each entry lives. */
async function partitions(db: Database): Promise<string[]> {
  const rows = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_log'::regclass ORDER BY 1`,
  )
  return rows.map((row) => row.name)
}

async function homes(db: Database): Promise<Record<string, string>> {
  const rows = await db.query<{ target_id: string; home: string }>('SELECT target_id, tableoid::regclass::text AS home FROM audit_log')
  return Object.fromEntries(rows.map((row) => [row.target_id, row.home]))
}

/** The first month the service makes itself: the migration's old-table partition holds everything before it. */
async function firstMonth(db: Database): Promise<Date> {
  const legacy = (await partitions(db)).find((name) => name.startsWith('audit_log_before_'))!
  return partitionOfName(legacy)!.to
}

function month(from: Date, months: number, day = 1): Date {
  return new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() + months, day, 12))
}

function name(at: Date): string {
  return `audit_log_${at.getUTCFullYear()}_${String(at.getUTCMonth() + 1).padStart(2, '0')}`
}

function entry(targetId: string, at: Date): AuditEntry {
  return {
    at,
    actor: 'alice',
    action: 'grant.create',
    targetType: 'grant',
    targetId,
    before: null,
    after: { id: targetId },
    requestId: 'req-1',
  }
}

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`audit partitions on ${backend}`, async (t) => {
    const db = await open(t)
    const audit = new SqlAuditLog(db)
    const store = new SqlAuditPartitions(db)
    const first = await firstMonth(db)
    const legacy = `audit_log_before_${name(first).slice('audit_log_'.length)}`
    t.same(await partitions(db), [legacy, 'audit_log_default'].sort(), 'after the migration: the old table and the default')

    t.test('made ahead, once, however many instances run it at once', async (t) => {
      const now = month(first, 0, 15)
      const made = await Promise.all([store.prepare(now, 2), store.prepare(now, 2), store.prepare(now, 2)])
      t.same(made.flat().sort(), [name(month(first, 0)), name(month(first, 1)), name(month(first, 2))])
      t.same(await store.prepare(now, 2), [], 'again: nothing to make')
      t.same(await store.prepare(month(first, 1, 3), 2), [name(month(first, 3))], 'a month later: the next one')
    })

    t.test('an entry no partition covers waits in the default partition, then moves to its month', async (t) => {
      const far = month(first, 9, 20)
      await audit.record(db, entry('far', far))
      await audit.record(db, entry('near', month(first, 1, 2)))
      t.same(await homes(db), { far: 'audit_log_default', near: name(month(first, 1)) })
      const before = await audit.list({ limit: 10 })
      t.same(await store.prepare(month(first, 0, 15), 2), [name(far)], 'its month is made for it')
      t.same(await homes(db), { far: name(far), near: name(month(first, 1)) })
      t.same(await audit.list({ limit: 10 }), before, 'the log reads the same')
      t.same(await db.query('SELECT count(*)::int AS n FROM audit_log_default'), [{ n: 0 }])
    })

    t.test('retention drops exactly the partitions wholly before the cutoff, and cursors before them are gone', async (t) => {
      await audit.record(db, entry('old', new Date(first.getTime() - 40 * DAY)))
      const all = (await audit.list({ limit: 10 })).items
      t.same(
        all.map((e) => e.targetId),
        ['far', 'near', 'old'],
      )
      const [far, near, old] = all

      t.same(await store.dropBefore(new Date(first.getTime() - DAY)), [], 'a cutoff inside the old partition drops nothing')
      t.same(await store.dropBefore(month(first, 1, 2)), [legacy, name(month(first, 0))], 'those wholly before the cutoff')
      t.same(await homes(db), { far: name(month(first, 9)), near: name(month(first, 1)) })
      t.same(
        await db.query(`SELECT pruned_through FROM retention_watermarks WHERE log = 'audit'`),
        [{ pruned_through: String(old.id) }],
        'the highest id dropped',
      )

      t.same(await audit.list({ limit: 10 }), { items: [far, near] }, 'a listing without a cursor starts at what is kept')
      t.same(await audit.list({ cursor: String(old.id), limit: 10 }), { items: [] }, 'a cursor at the watermark missed nothing')
      const gone = (await audit.list({ cursor: String(near.id), limit: 10 }).catch((e: unknown) => e)) as StsError
      t.type(gone, GoneError)
      t.same(
        [gone.code, gone.reason, gone.message],
        [
          'gone',
          'audit_cursor_pruned',
          `the audit log no longer holds every entry after cursor ${near.id}: entries up to ${old.id} were removed by retention ` +
            '(audit.retentionDays); list again without a cursor',
        ],
      )
      t.equal(
        ((await audit.list({ cursor: '0', limit: 10 }).catch((e: unknown) => e)) as StsError).reason,
        'audit_cursor_pruned',
        'position 0 too',
      )

      t.same(await store.dropBefore(month(first, 1, 2)), [], 'again: nothing left to drop')
      await audit.record(db, entry('after', month(first, 1, 5)))
      t.equal(
        (await audit.list({ cursor: String(old.id), limit: 10 })).items.at(-1)?.targetId,
        'after',
        'ids go on once the old table is gone',
      )
    })
  })
}
