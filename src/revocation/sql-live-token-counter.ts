import type { Queryable } from '../db/database.js'
import { SqlConditions } from '../db/sql.js'
import { storeFailure } from '../errors.js'
import { globToSqlPattern, isGlob } from '../lib/glob.js'
import type { RevocationTarget } from './revocation.js'
import type { LiveTokenCounter } from './live-token-counter.js'

/**
 * Counts on the ledger table (Postgres or PGlite). A subject glob is matched in SQL with the same
 * anchored expression the service matches with.
 */
export class SqlLiveTokenCounter implements LiveTokenCounter {
  constructor(private readonly db: Queryable) {}

  async count(target: RevocationTarget, now: Date): Promise<number> {
    const condition = {
      token: 'jti = ?',
      subject: isGlob(target.value) ? 'subject ~ ?' : 'subject = ?',
      // Containment, so the GIN indexes on the arrays answer it.
      grant: 'grant_ids @> ARRAY[?::uuid]',
      source: 'sources @> ARRAY[?::text]',
    }[target.kind]
    const value = target.kind === 'subject' && isGlob(target.value) ? globToSqlPattern(target.value) : target.value
    const conditions = new SqlConditions().add(condition, value).add('expires_at > ?', now)
    try {
      const rows = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ledger ${conditions.where}`, conditions.params)
      return rows[0]?.n ?? 0
    } catch (error) {
      throw storeFailure('the token ledger cannot be read', error, 'ledger_unavailable')
    }
  }

  async tokenExpiry(jti: string): Promise<Date | undefined> {
    try {
      const rows = await this.db.query<{ expires_at: Date }>('SELECT expires_at FROM ledger WHERE jti = $1', [jti])
      return rows.map((row) => new Date(row.expires_at)).at(0)
    } catch (error) {
      throw storeFailure('the token ledger cannot be read', error, 'ledger_unavailable')
    }
  }
}
