import type { Queryable } from '../db/database.js'
import { storeFailure } from '../errors.js'
import { globToSqlPattern, isGlob } from '../lib/glob.js'
import type { RevocationTarget } from './revocation.js'

/**
 * How many tokens a revocation cuts off: the ledger rows it covers that have not expired yet. A
 * subject glob is matched in SQL with the same anchored expression the service matches with.
 */
export class LiveTokenCounter {
  constructor(private readonly db: Queryable) {}

  async count(target: RevocationTarget, now: Date): Promise<number> {
    const condition = {
      token: 'jti = $1',
      subject: isGlob(target.value) ? 'subject ~ $1' : 'subject = $1',
      // Containment, so the GIN indexes on the arrays answer it.
      grant: 'grant_ids @> ARRAY[$1::uuid]',
      source: 'sources @> ARRAY[$1::text]',
    }[target.kind]
    const value = target.kind === 'subject' && isGlob(target.value) ? globToSqlPattern(target.value) : target.value
    try {
      const rows = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ledger WHERE ${condition} AND expires_at > $2`, [value, now])
      return rows[0]?.n ?? 0
    } catch (error) {
      throw storeFailure('the token ledger cannot be read', error, 'ledger_unavailable')
    }
  }

  /** When the token with this jti expires, if the ledger knows it. */
  async tokenExpiry(jti: string): Promise<Date | undefined> {
    try {
      const rows = await this.db.query<{ expires_at: Date }>('SELECT expires_at FROM ledger WHERE jti = $1', [jti])
      return rows[0] ? new Date(rows[0].expires_at) : undefined
    } catch (error) {
      throw storeFailure('the token ledger cannot be read', error, 'ledger_unavailable')
    }
  }
}
