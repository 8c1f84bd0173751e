import t from 'tap'
import { SqlAuditLog } from '../../src/audit/sql-audit-log.js'
import { SqlAuditPartitions } from '../../src/audit/sql-audit-partitions.js'
import type { Database } from '../../src/db/database.js'
import { FixedClock } from '../../src/lib/clock.js'
import { createLogger } from '../../src/lib/logger.js'
import { RetentionMaintenance, type RetentionMaintenanceOptions } from '../../src/retention/retention-maintenance.js'
import { SqlRevocationLog } from '../../src/revocation/sql-revocation-log.js'
import { BACKENDS } from '../support/databases.js'
import { eventually } from '../support/eventually.js'

const DAY = 86_400_000

/** Everything the database holds, entries and revocations, so "keeps everything" is compared whole. */
async function contents(db: Database) {
  return {
    audit: await db.query('SELECT id, target_id FROM audit_log ORDER BY id'),
    revocations: await db.query('SELECT id, seq FROM revocations ORDER BY seq'),
  }
}

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`retention maintenance on ${backend}`, async (t) => {
    const db = await open(t)
    const [{ bound }] = await db.query<{ bound: string }>(
      `SELECT c.relname AS bound FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'audit_log'::regclass AND c.relname LIKE 'audit_log_before_%'`,
    )
    const [, year, month] = /(\d{4})_(\d{2})$/.exec(bound)!
    const first = Date.UTC(Number(year), Number(month) - 1, 1)
    const clock = new FixedClock(first - 10 * DAY)
    const log = new SqlRevocationLog(db)
    const audit = new SqlAuditLog(db)
    await audit.record(db, {
      at: new Date(clock.now()),
      actor: 'alice',
      action: 'revocation.create',
      targetType: 'revocation',
      targetId: 'r1',
      before: null,
      after: null,
      requestId: null,
    })
    await log.transaction(async (tx) => {
      const revocation = await log.insert(tx, {
        kind: 'token',
        value: 'jti-1',
        reason: 'leak',
        createdAt: new Date(clock.now()),
        createdBy: 'alice',
        expiresAt: new Date(clock.now() + DAY),
      })
      return log.lift(tx, revocation.id, new Date(clock.now()), 'alice', 'clear')
    })
    const maintenance = (overrides: Partial<RetentionMaintenanceOptions>) =>
      new RetentionMaintenance({
        auditPartitions: new SqlAuditPartitions(db),
        revocations: log,
        clock,
        logger: createLogger('silent'),
        auditRetentionDays: 400,
        revocationRetentionDays: 7,
        intervalMs: 3_600_000,
        revocationBatchSize: 100,
        ...overrides,
      })

    t.test('0 keeps everything, years later; partitions are still made ahead', async (t) => {
      clock.set(first + 3 * 365 * DAY)
      const before = await contents(db)
      const outcome = await maintenance({ auditRetentionDays: 0, revocationRetentionDays: 0 }).runOnce()
      t.same(outcome.auditPartitionsDropped, [])
      t.equal(outcome.revocationsPruned, 0)
      t.equal(outcome.auditPartitionsMade.length, 3, 'this month and two ahead')
      t.same(await contents(db), before)
    })

    t.test('started, it runs at once and applies both retentions', async (t) => {
      const running = maintenance({})
      running.start()
      t.teardown(() => running.stop())
      const after = await eventually(t, () => contents(db), {
        until: (now) => now.audit.length === 0 && now.revocations.length === 0,
        what: 'both retentions applied',
      })
      t.same(after, { audit: [], revocations: [] })
      t.same(
        await running.runOnce(),
        { auditPartitionsMade: [], auditPartitionsDropped: [], revocationsPruned: 0, grantsDisabled: [] },
        'and again: nothing to do',
      )
    })
  })
}

t.test('a part that fails is logged and the others still run', async (t) => {
  const db = await BACKENDS.pglite(t)
  const log = new SqlRevocationLog(db)
  const clock = new FixedClock(Date.UTC(2026, 10, 23, 12))
  await log.transaction((tx) =>
    log.insert(tx, {
      kind: 'token',
      value: 'jti-1',
      reason: 'leak',
      createdAt: new Date(clock.now() - 10 * DAY),
      createdBy: 'alice',
      expiresAt: new Date(clock.now() - 9 * DAY),
    }),
  )
  const lines: string[] = []
  // The outside failing (a database refusing DDL, say): our own stores are real everywhere else.
  const refusing = {
    prepare: () => Promise.reject(new Error('permission denied for schema public')),
    dropBefore: () => Promise.reject(new Error('permission denied for table audit_log_2025_01')),
  }
  const outcome = await new RetentionMaintenance({
    auditPartitions: refusing,
    revocations: log,
    clock,
    logger: createLogger('info', { write: (line: string) => lines.push(line) }),
    auditRetentionDays: 400,
    revocationRetentionDays: 7,
    intervalMs: 3_600_000,
    revocationBatchSize: 100,
  }).runOnce()
  t.same(outcome, { auditPartitionsMade: [], auditPartitionsDropped: [], revocationsPruned: 1, grantsDisabled: [] })
  t.same(
    lines.map((line) => (JSON.parse(line) as { msg: string }).msg),
    [
      'cannot make the audit log partitions ahead; trying again at the next run',
      'cannot drop the audit log partitions past retention; trying again at the next run',
      'revocations lifted or expired before retention (revocations.retentionDays) pruned',
    ],
  )
})
