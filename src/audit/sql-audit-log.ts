import type { Queryable } from '../db/database.js'
import { decodeSequenceCursor, pageOf, sequenceCursor, SqlConditions } from '../db/sql.js'
import { storeFailure } from '../errors.js'
import type { Page, PageRequest } from '../lib/page.js'
import type { AuditEntry, AuditFilter, AuditLog, AuditRecord } from './audit-log.js'

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
    if (filter.cursor !== undefined) conditions.add('id > ?', String(decodeSequenceCursor(filter.cursor)))
    const limit = conditions.param(filter.limit + 1)
    let rows: AuditRow[]
    try {
      rows = await this.db.query<AuditRow>(`SELECT * FROM audit_log ${conditions.where} ORDER BY id LIMIT ${limit}`, conditions.params)
    } catch (error) {
      throw storeFailure('the audit log cannot be read', error, 'audit_unavailable')
    }
    return pageOf(rows.map(toRecord), filter.limit, (last) => sequenceCursor(last.id))
  }
}

interface AuditRow {
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
