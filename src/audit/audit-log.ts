import type { Queryable } from '../db/database.js'
import { storeFailure } from '../errors.js'

/** Who made a change: the admin token's name, and the request it came in. */
export interface Actor {
  name: string
  requestId: string | null
}

/** One change made through the admin API. */
export interface AuditEntry {
  at: Date
  /** Who: the admin token's name. */
  actor: string
  /** What, as `<noun>.<verb>`: `grant.create`, `revocation.lift`... */
  action: string
  targetType: string
  targetId: string
  before: unknown
  after: unknown
  requestId: string | null
}

export interface AuditRecord extends AuditEntry {
  id: number
}

/**
 * The audit log in Postgres. Changes write their entry on the same transaction as the change itself,
 * so there is never a change without its entry nor an entry without its change.
 */
export class SqlAuditLog {
  constructor(private readonly db: Queryable) {}

  async record(tx: Queryable, entry: AuditEntry): Promise<void> {
    await tx.query(
      `INSERT INTO audit_log (at, actor, action, target_type, target_id, before, after, request_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [entry.at, entry.actor, entry.action, entry.targetType, entry.targetId, json(entry.before), json(entry.after), entry.requestId],
    )
  }

  /** Several entries in one statement (a batch of automatic changes), on the change's transaction. */
  async recordMany(tx: Queryable, entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return
    const params: unknown[] = []
    const rows = entries.map((entry) => {
      const values = [entry.at, entry.actor, entry.action, entry.targetType, entry.targetId, json(entry.before), json(entry.after), entry.requestId]
      return `(${values.map((value) => `$${params.push(value)}`).join(', ')})`
    })
    await tx.query(`INSERT INTO audit_log (at, actor, action, target_type, target_id, before, after, request_id) VALUES ${rows.join(', ')}`, params)
  }

  async list(filter: { targetType?: string; targetId?: string; actor?: string; after?: number; limit: number }): Promise<AuditRecord[]> {
    const where: string[] = []
    const params: unknown[] = []
    const add = (clause: string, value: unknown) => {
      params.push(value)
      where.push(clause.replace('?', `$${params.length}`))
    }
    if (filter.targetType !== undefined) add('target_type = ?', filter.targetType)
    if (filter.targetId !== undefined) add('target_id = ?', filter.targetId)
    if (filter.actor !== undefined) add('actor = ?', filter.actor)
    if (filter.after !== undefined) add('id > ?', filter.after)
    params.push(filter.limit)
    try {
      const rows = await this.db.query<{
        id: string
        at: Date
        actor: string
        action: string
        target_type: string
        target_id: string
        before: unknown
        after: unknown
        request_id: string | null
      }>(`SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT $${params.length}`, params)
      return rows.map((row) => ({
        id: Number(row.id),
        at: new Date(row.at),
        actor: row.actor,
        action: row.action,
        targetType: row.target_type,
        targetId: row.target_id,
        before: row.before,
        after: row.after,
        requestId: row.request_id,
      }))
    } catch (error) {
      throw storeFailure('the audit log cannot be read', error, 'audit_unavailable')
    }
  }
}

function json(value: unknown): string | null {
  return value === undefined || value === null ? null : JSON.stringify(value)
}
