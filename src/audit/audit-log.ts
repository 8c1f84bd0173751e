import type { Queryable } from '../db/database.js'
import type { Page, PageRequest } from '../lib/page.js'

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

/** What a list of audit entries is narrowed to; every field given must hold. */
export interface AuditFilter {
  targetType?: string
  targetId?: string
  actor?: string
}

/**
 * Every change made through the admin API, who and what, before and after. Changes write their entry
 * on the same transaction as the change itself (`tx`), so there is never a change without its entry
 * nor an entry without its change.
 */
export interface AuditLog {
  record(tx: Queryable, entry: AuditEntry): Promise<void>
  /** Several entries (a batch of automatic changes), on the change's transaction. */
  recordMany(tx: Queryable, entries: readonly AuditEntry[]): Promise<void>
  /**
   * A page, oldest first (by id). Throws InvalidInputError for a cursor it did not hand out, and
   * GoneError for one before what retention kept (entries after it may have been dropped).
   */
  list(filter: AuditFilter & PageRequest): Promise<Page<AuditRecord>>
}
