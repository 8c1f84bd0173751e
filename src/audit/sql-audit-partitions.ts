import { ADVISORY_LOCKS } from '../db/advisory-locks.js'
import type { Database, Queryable } from '../db/database.js'
import { storeFailure } from '../errors.js'
import { monthPartition, partitionOfName, type AuditPartition, type AuditPartitions } from './audit-partitions.js'

/** Instances making or dropping audit partitions take turns on it. */
const AUDIT_PARTITIONS_LOCK = ADVISORY_LOCKS.auditPartitions

/**
 * The audit log's partitions on Postgres or PGlite: the same SQL on both. Each run holds a
 * transaction-scoped advisory lock, and reads the partitions there are only once it has it, so two
 * instances never make or drop the same partition. Partition names are built here from dates alone,
 * never from input.
 */
export class SqlAuditPartitions implements AuditPartitions {
  constructor(private readonly db: Database) {}

  async prepare(now: Date, monthsAhead: number): Promise<string[]> {
    return this.locked(async (tx) => {
      const existing = await partitionsOf(tx)
      const waiting = await tx.query<{ month: string }>(
        `SELECT DISTINCT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM') AS month FROM audit_log_default`,
      )
      const wanted = new Map<string, AuditPartition & { from: Date }>()
      for (let ahead = 0; ahead <= monthsAhead; ahead++) {
        const month = monthPartition(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + ahead, 1)))
        wanted.set(month.name, month)
      }
      for (const { month } of waiting) {
        const partition = monthPartition(new Date(`${month}-01T00:00:00Z`))
        wanted.set(partition.name, partition)
      }
      const made: string[] = []
      for (const partition of [...wanted.values()].sort((a, b) => a.from.getTime() - b.from.getTime())) {
        if (existing.some((other) => overlaps(other, partition))) continue
        await makePartition(tx, partition)
        made.push(partition.name)
      }
      return made
    }, 'the audit log partitions cannot be made')
  }

  async dropBefore(cutoff: Date): Promise<string[]> {
    const expired = (await this.locked(partitionsOf, 'the audit log partitions cannot be read')).filter(
      (partition) => partition.to.getTime() <= cutoff.getTime(),
    )
    const dropped: string[] = []
    // One transaction per partition: a run never holds the audit log for longer than one drop.
    for (const partition of expired) {
      const done = await this.locked(async (tx) => {
        if (!(await partitionsOf(tx)).some((p) => p.name === partition.name)) return false
        const [{ max }] = await tx.query<{ max: string | null }>(`SELECT max(id) AS max FROM ${partition.name}`)
        await tx.query(`UPDATE retention_watermarks SET pruned_through = greatest(pruned_through, $1) WHERE log = 'audit'`, [max ?? '0'])
        await tx.query(`DROP TABLE ${partition.name}`)
        return true
      }, 'the audit log partitions cannot be dropped')
      if (done) dropped.push(partition.name)
    }
    return dropped
  }

  private async locked<T>(work: (tx: Queryable) => Promise<T>, failure: string): Promise<T> {
    try {
      return await this.db.transaction(async (tx) => {
        await tx.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_PARTITIONS_LOCK])
        return work(tx)
      })
    } catch (error) {
      throw storeFailure(failure, error, 'audit_unavailable')
    }
  }
}

/** The partitions of audit_log whose names say what they hold (the default partition is not one). */
async function partitionsOf(tx: Queryable): Promise<AuditPartition[]> {
  const rows = await tx.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'audit_log'::regclass`,
  )
  return rows.map((row) => partitionOfName(row.name)).filter((partition) => partition !== undefined)
}

function overlaps(a: AuditPartition, b: AuditPartition): boolean {
  const start = (partition: AuditPartition) => partition.from?.getTime() ?? -Infinity
  return start(a) < b.to.getTime() && start(b) < a.to.getTime()
}

/**
 * A month's partition, with its index on id (pages are read by id). Entries of that month already in
 * the default partition would make Postgres refuse it: they are moved in, the default detached meanwhile.
 */
async function makePartition(tx: Queryable, partition: AuditPartition & { from: Date }): Promise<void> {
  const bounds = [partition.from.toISOString(), partition.to.toISOString()]
  const create = `CREATE TABLE ${partition.name} PARTITION OF audit_log FOR VALUES FROM ('${bounds[0]}') TO ('${bounds[1]}')`
  const index = `CREATE UNIQUE INDEX ${partition.name}_id_idx ON ${partition.name} (id)`
  const waiting = await tx.query('SELECT 1 FROM audit_log_default WHERE at >= $1 AND at < $2 LIMIT 1', bounds)
  if (waiting.length === 0) {
    await tx.query(create)
    await tx.query(index)
    return
  }
  await tx.query('ALTER TABLE audit_log DETACH PARTITION audit_log_default')
  await tx.query(create)
  await tx.query(index)
  await tx.query(`INSERT INTO ${partition.name} SELECT * FROM audit_log_default WHERE at >= $1 AND at < $2`, bounds)
  await tx.query('DELETE FROM audit_log_default WHERE at >= $1 AND at < $2', bounds)
  await tx.query('ALTER TABLE audit_log ATTACH PARTITION audit_log_default DEFAULT')
}
