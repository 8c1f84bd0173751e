import type { Database } from '../db/database.js'
import { SqlConditions } from '../db/sql.js'
import { storeFailure } from '../errors.js'
import { addSource, addSubjectGlob, jtiLookup, jtiQuery, liveIssuedSince, type RowForm } from '../ledger/ledger-tables.js'
import type { RevocationTarget } from './revocation.js'
import type { LiveTokenCounter } from './live-token-counter.js'
import { sqlStateOf } from '../db/sql-state.js'

/** SQLSTATE of a statement cancelled, here by its statement_timeout. */
const QUERY_CANCELED = '57014'

/**
 * Counts on the ledger (Postgres or PGlite): its partitions, and the table of the release before
 * while it still holds rows. A subject glob is matched in SQL with the same anchored expression the
 * service matches with. Only the partitions that can hold a live token are read: `maxTtlSeconds`
 * (tokens.maxTtlSeconds) bounds how long ago a live token was issued.
 */
export class SqlLiveTokenCounter implements LiveTokenCounter {
  constructor(
    private readonly db: Database,
    private readonly maxTtlSeconds: number,
    /** How long a count may take (revocations.countBudgetMs): a revocation's answer waits for it. */
    private readonly countBudgetMs: number,
  ) {}

  async count(target: RevocationTarget, now: Date): Promise<number | undefined> {
    if (target.kind === 'token') {
      const expiry = await this.tokenExpiry(target.value)
      return expiry !== undefined && expiry > now ? 1 : 0
    }
    const conditionsOf = (form: RowForm): SqlConditions => {
      const conditions = new SqlConditions()
      // Containment for the arrays, so their GIN indexes answer it; a subject glob bounded by its literal prefix.
      if (target.kind === 'subject') addSubjectGlob(conditions, form, target.value)
      // No index: the issued_at bound keeps the count to the partitions that can hold a live token.
      else if (target.kind === 'key') conditions.add('kid = ?', target.value)
      else if (target.kind === 'grant') conditions.add('grant_ids @> ARRAY[?::uuid]', target.value)
      else addSource(conditions, form, target.value)
      return conditions.add('expires_at > ?', now).add('issued_at >= ?', liveIssuedSince(now, this.maxTtlSeconds))
    }
    // Every part has the same parameters in the same order: one list serves them all. A subject or a
    // source is counted on the compact rows and on the rows of before apart (src/ledger/ledger-tables.ts, RowForm).
    const legacyConditions = conditionsOf('legacy')
    const forms: RowForm[] = target.kind === 'source' || target.kind === 'subject' ? ['compact', 'spelled'] : ['compact']
    const counts = forms.map((form) => `(SELECT count(*) FROM ledger_entries ${conditionsOf(form).where})`)
    // The legacy table predates recorded keys: none of its rows names one.
    if (target.kind !== 'key') counts.push(`(SELECT count(*) FROM ledger_legacy ${legacyConditions.where})`)
    const sql = `SELECT ${counts.join(' + ')} AS n`
    const conditions = legacyConditions
    const started = performance.now()
    try {
      // Cancelled by the database itself at the budget, so an incident-sized count costs no more than that.
      const rows = await this.db.transaction(async (tx) => {
        await tx.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(this.countBudgetMs))}`)
        return tx.query<{ n: number }>(sql, conditions.params)
      })
      return Number(rows[0]?.n ?? 0)
    } catch (error) {
      // Cancelled when the budget ran out: the statement timeout, not someone cancelling it (also 57014).
      if (sqlStateOf(error) === QUERY_CANCELED && performance.now() - started >= this.countBudgetMs) return undefined
      throw storeFailure('the token ledger cannot be read', error, 'ledger_unavailable')
    }
  }

  async tokenExpiry(jti: string): Promise<Date | undefined> {
    const lookup = jtiLookup(jti)
    if (lookup === undefined) return undefined
    const { sql, params } = jtiQuery(lookup, 'SELECT expires_at FROM ledger_entries', 'SELECT expires_at FROM ledger_legacy')
    const rows = await this.query<{ expires_at: Date }>(sql, params)
    return rows.map((row) => new Date(row.expires_at)).at(0)
  }

  private async query<Row>(sql: string, params: unknown[]): Promise<Row[]> {
    try {
      return await this.db.query<Row>(sql, params)
    } catch (error) {
      throw storeFailure('the token ledger cannot be read', error, 'ledger_unavailable')
    }
  }
}
