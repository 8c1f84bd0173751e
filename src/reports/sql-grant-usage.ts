import type { Queryable } from '../db/database.js'
import { SqlConditions } from '../db/sql.js'
import { storeFailure } from '../errors.js'
import { AUDIENCE_ROW } from '../inventory/identity-rollup.js'
import type { GrantAccessUse, GrantUsageReader, StaleIdentity, SubjectAccessUse } from './grant-usage.js'

/**
 * The report's reads on Postgres or PGlite: the same SQL on both. The grants' rows of identity_access
 * are found by its grant index (migrations/018_identity_inventory.sql); identities by a scan of their
 * table (one row each); admin tokens by a scan of theirs (a few hundred at most).
 */
export class SqlGrantUsageReader implements GrantUsageReader {
  constructor(private readonly db: Queryable) {}

  async accessOf(grantIds: readonly string[]): Promise<GrantAccessUse[]> {
    if (grantIds.length === 0) return []
    const rows = await this.read<{ grant_id: string; audience: string; scope: string; last_used: Date }>(
      `SELECT grant_id, audience, scope, max(last_used) AS last_used FROM identity_access
       WHERE grant_id = ANY($1::uuid[]) GROUP BY grant_id, audience, scope ORDER BY grant_id, audience, scope`,
      [[...grantIds]],
    )
    return rows.map((row) => ({
      grantId: row.grant_id,
      audience: row.audience,
      ...(row.scope === AUDIENCE_ROW ? {} : { scope: row.scope }),
      lastUsed: new Date(row.last_used),
    }))
  }

  async identitiesSince(grantIds: readonly string[], since: Date): Promise<Map<string, number>> {
    if (grantIds.length === 0) return new Map()
    const rows = await this.read<{ grant_id: string; identities: string | number }>(
      `SELECT grant_id, count(DISTINCT identity_id) AS identities FROM identity_access
       WHERE grant_id = ANY($1::uuid[]) AND scope = '' AND last_used >= $2 GROUP BY grant_id`,
      [[...grantIds], since],
    )
    return new Map(rows.map((row) => [row.grant_id, Number(row.identities)]))
  }

  async subjectAccessSince(grantIds: readonly string[], since: Date, maxIdentities: number): Promise<SubjectAccessUse[]> {
    if (grantIds.length === 0) return []
    const rows = await this.read<{ grant_id: string; subject: string; audience: string; scope: string }>(
      `WITH used AS (
         SELECT grant_id, identity_id, audience, scope FROM identity_access WHERE grant_id = ANY($1::uuid[]) AND last_used >= $2
       ), few AS (
         SELECT grant_id FROM used GROUP BY grant_id HAVING count(DISTINCT identity_id) <= $3
       )
       SELECT u.grant_id, i.subject, u.audience, u.scope
       FROM used u JOIN few USING (grant_id) JOIN identities i ON i.id = u.identity_id
       ORDER BY u.grant_id, i.subject USING ~<~, u.audience, u.scope`,
      [[...grantIds], since, maxIdentities],
    )
    return rows.map((row) => ({
      grantId: row.grant_id,
      subject: row.subject,
      audience: row.audience,
      ...(row.scope === AUDIENCE_ROW ? {} : { scope: row.scope }),
    }))
  }

  async staleIdentities(before: Date, limit: number, subjectPrefixes?: readonly string[]): Promise<StaleIdentity[]> {
    const conditions = new SqlConditions().add('last_seen < ?', before)
    if (subjectPrefixes !== undefined) conditions.underPrefixes('subject', subjectPrefixes)
    const max = conditions.param(limit)
    const rows = await this.read<{ subject: string; attestor: string; last_seen: Date }>(
      `SELECT subject, attestor, last_seen FROM identities ${conditions.where} ORDER BY last_seen, subject USING ~<~ LIMIT ${max}`,
      conditions.params,
    )
    return rows.map((row) => ({ subject: row.subject, attestor: row.attestor, lastSeen: new Date(row.last_seen) }))
  }

  async unusedGrantIds(before: Date, now: Date, limit: number): Promise<string[]> {
    // A row of an audience the grant no longer holds is another grant's doing (src/reports/least-privilege.ts).
    const rows = await this.read<{ id: string }>(
      `SELECT g.id FROM grants g
       WHERE g.enabled AND g.expires_at > $2 AND g.created_at < $1
         AND NOT EXISTS (
           SELECT 1 FROM identity_access a
           WHERE a.grant_id = g.id AND a.scope = '' AND a.audience = ANY(g.audiences) AND a.last_used >= $1
         )
       ORDER BY g.created_at, g.id LIMIT $3`,
      [before, now, limit],
    )
    return rows.map((row) => row.id)
  }

  async ownersWithLiveAdminTokens(now: Date): Promise<Set<string>> {
    const rows = await this.read<{ owner: string }>(
      `SELECT DISTINCT unnest(scope_owners) AS owner FROM admin_tokens
       WHERE scope_owners IS NOT NULL AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $1)`,
      [now],
    )
    return new Set(rows.map((row) => row.owner))
  }

  private async read<Row>(sql: string, params: unknown[]): Promise<Row[]> {
    try {
      return await this.db.query<Row>(sql, params)
    } catch (error) {
      throw storeFailure('the roll-ups of the least-privilege report cannot be read', error, 'ledger_unavailable')
    }
  }
}
