/**
 * The audit log's partitions by month (migrations/012): made ahead of time, and dropped whole once
 * retention no longer keeps them. Every instance runs this on its own timer; the work is serialised
 * in the database, so running it everywhere at once is safe and does each step once.
 */
export interface AuditPartitions {
  /**
   * Makes the partition of `now`'s month and of the `monthsAhead` months after it, and of any month
   * whose entries wait in the default partition (moved into it). Answers the partitions made.
   */
  prepare(now: Date, monthsAhead: number): Promise<string[]>
  /**
   * Drops every partition whose whole range is before `cutoff`, each with its entries, and records the
   * highest id dropped (so a cursor before it is answered 410 Gone). Answers the partitions dropped.
   */
  dropBefore(cutoff: Date): Promise<string[]>
}

/** A partition by its name: what it holds is written in it (audit_log_YYYY_MM, audit_log_before_YYYY_MM). */
export interface AuditPartition {
  name: string
  /** The first instant it holds; undefined for the one holding everything before `to`. */
  from?: Date
  /** The first instant after it. */
  to: Date
}

const MONTH = /^audit_log_(\d{4})_(\d{2})$/
const BEFORE = /^audit_log_before_(\d{4})_(\d{2})$/

/** What a partition's name says it holds; undefined for the default partition and any name not ours. */
export function partitionOfName(name: string): AuditPartition | undefined {
  const month = MONTH.exec(name)
  if (month) return { name, from: monthStart(Number(month[1]), Number(month[2])), to: monthStart(Number(month[1]), Number(month[2]) + 1) }
  const before = BEFORE.exec(name)
  if (before) return { name, to: monthStart(Number(before[1]), Number(before[2])) }
  return undefined
}

/** The partition of the month (UTC) `at` falls in. */
export function monthPartition(at: Date): AuditPartition & { from: Date } {
  const year = at.getUTCFullYear()
  const month = at.getUTCMonth() + 1
  const name = `audit_log_${year}_${String(month).padStart(2, '0')}`
  return { name, from: monthStart(year, month), to: monthStart(year, month + 1) }
}

function monthStart(year: number, month: number): Date {
  return new Date(Date.UTC(year, month - 1, 1))
}
