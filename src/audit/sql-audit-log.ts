import type { Queryable } from '../db/database.js'
import { decodeSequenceCursor, pageOf, sequenceCursor, SqlConditions } from '../db/sql.js'
import { GoneError, storeFailure } from '../errors.js'
import type { Page, PageRequest } from '../lib/page.js'
import type { AuditEntry, AuditFilter, AuditLog, AuditRecord } from './audit-log.js'

/** The highest audit entry id retention removed, 0 before any: a one-row relation. */
const PRUNED_THROUGH_AUDIT = `(SELECT coalesce((SELECT pruned_through FROM retention_watermarks WHERE log = 'audit'), 0) AS pruned_through)`

/** The audit log on Postgres or PGlite: the same SQL on both. */
export class SqlAuditLog implements AuditLog {
  constructor(private readonly db: Queryable) {}

  async record(tx: Queryable, entry: AuditEntry): Promise<void> {
    await tx.query(
      `INSERT INTO audit_log (at, actor, action, target_type, target_id, before, after, request_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [entry.at, entry.actor, entry.action, entry.targetType, entry.targetId, json(entry.before), json(entry.after), entry.requestId],
    )
  }

  /** In one statement: all of them or none. */
  async recordMany(tx: Queryable, entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return
    const params: unknown[] = []
    const rows = entries.map((entry) => {
      const values = [
        entry.at,
        entry.actor,
        entry.action,
        entry.targetType,
        entry.targetId,
        json(entry.before),
        json(entry.after),
        entry.requestId,
      ]
      return `(${values.map((value) => `$${params.push(value)}`).join(', ')})`
    })
    await tx.query(
      `INSERT INTO audit_log (at, actor, action, target_type, target_id, before, after, request_id) VALUES ${rows.join(', ')}`,
      params,
    )
  }

  async list(filter: AuditFilter & PageRequest): Promise<Page<AuditRecord>> {
    const conditions = new SqlConditions()
    if (filter.targetType !== undefined) conditions.add('target_type = ?', filter.targetType)
    if (filter.targetId !== undefined) conditions.add('target_id = ?', filter.targetId)
    if (filter.actor !== undefined) conditions.add('actor = ?', filter.actor)
    const cursor = filter.cursor === undefined ? undefined : decodeSequenceCursor(filter.cursor)
    if (cursor !== undefined) conditions.add('id > ?', String(cursor))
    const limit = conditions.param(filter.limit + 1)
    let rows: (AuditRow & { pruned_through: string })[]
    try {
      // One statement, so the page and the retention watermark are of the same moment: a partition
      // dropped between two reads could otherwise leave a gap no check would see.
      rows = await this.db.query(
        `SELECT w.pruned_through, a.* FROM ${PRUNED_THROUGH_AUDIT} w
         LEFT JOIN LATERAL (SELECT * FROM audit_log ${conditions.where} ORDER BY id LIMIT ${limit}) a ON true ORDER BY a.id`,
        conditions.params,
      )
    } catch (error) {
      throw storeFailure('the audit log cannot be read', error, 'audit_unavailable')
    }
    const prunedThrough = BigInt(rows[0]?.pruned_through ?? 0)
    if (cursor !== undefined && cursor < prunedThrough) {
      throw new GoneError(
        `the audit log no longer holds every entry after cursor ${cursor}: entries up to ${prunedThrough} were removed by retention ` +
          '(audit.retentionDays); list again without a cursor',
        'audit_cursor_pruned',
      )
    }
    const entries = rows.filter((row) => row.id !== null).map(toRecord)
    return pageOf(entries, filter.limit, (last) => sequenceCursor(last.id))
  }
}

interface AuditRow {
  /** Null on the one row of an empty page (the watermark's, joined to nothing). */
  id: string
  at: Date
  actor: string
  action: string
  target_type: string
  target_id: string
  before: unknown
  after: unknown
  request_id: string | null
}

function toRecord(row: AuditRow): AuditRecord {
  return {
    id: Number(row.id),
    at: new Date(row.at),
    actor: row.actor,
    action: row.action,
    targetType: row.target_type,
    targetId: row.target_id,
    before: row.before,
    after: row.after,
    requestId: row.request_id,
  }
}

function json(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value)
}
