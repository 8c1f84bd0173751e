import type { Queryable } from '../db/database.js'
import { decodeCursor, encodeCursor, pageOf, SqlConditions } from '../db/sql.js'
import { storeFailure } from '../errors.js'
import type { Page, PageRequest } from '../lib/page.js'
import { AUDIENCE_ROW } from './identity-rollup.js'
import {
  MAX_DELEGATIONS_SHOWN,
  MAX_IDENTITY_PAGE,
  type DailyTokens,
  type Identity,
  type IdentityAccess,
  type IdentityDetail,
  type IdentityFilter,
  type IdentityInventory,
} from './identity-inventory.js'

interface IdentityRow {
  id: string | number
  subject: string
  attestor: string
  attestor_kind: string
  sources: string[]
  first_seen: Date
  last_seen: Date
}

interface AccessRow {
  identity_id: string | number
  grant_id: string
  audience: string
  scope: string
  first_used: Date
  last_used: Date
}

interface DelegationRow {
  tokens: string | number
  first_seen: Date
  last_seen: Date
}

const IDENTITY_COLUMNS = 'id, subject, attestor, attestor_kind, sources, first_seen, last_seen'

/** The inventory on Postgres or PGlite: the same SQL on both. */
export class SqlIdentityInventory implements IdentityInventory {
  constructor(private readonly db: Queryable) {}

  async list(filter: IdentityFilter & PageRequest): Promise<Page<Identity>> {
    if (!Number.isInteger(filter.limit) || filter.limit < 1 || filter.limit > MAX_IDENTITY_PAGE) {
      throw new TypeError(`limit must be a whole number from 1 to ${MAX_IDENTITY_PAGE}, not ${filter.limit}`)
    }
    const after = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor, subjectOf)
    const conditions = new SqlConditions()
    if (filter.subject !== undefined) conditions.matchGlob('subject', filter.subject)
    if (filter.attestor !== undefined) conditions.add('attestor = ?', filter.attestor)
    if (filter.source !== undefined) conditions.add('sources @> ARRAY[?::text]', filter.source)
    if (filter.lastSeenBefore !== undefined) conditions.add('last_seen < ?', filter.lastSeenBefore)
    if (filter.lastSeenAfter !== undefined) conditions.add('last_seen >= ?', filter.lastSeenAfter)
    if (filter.subjectPrefixes !== undefined) conditions.underPrefixes('subject', filter.subjectPrefixes)
    // Byte order (the subject index's), so pages follow the index and a cursor is the last subject.
    if (after !== undefined) conditions.add('subject ~>~ ?', after)
    const limit = conditions.param(filter.limit + 1)
    const rows = await this.read<IdentityRow>(
      `SELECT ${IDENTITY_COLUMNS} FROM identities ${conditions.where} ORDER BY subject USING ~<~ LIMIT ${limit}`,
      conditions.params,
    )
    const shown = rows.slice(0, filter.limit)
    const access = await this.accessOf(shown.map((row) => String(row.id)))
    return pageOf(
      rows.map((row) => toIdentity(row, access.get(String(row.id)) ?? [])),
      filter.limit,
      (last) => encodeCursor([last.subject]),
    )
  }

  async get(subject: string, actedForUnder?: readonly string[]): Promise<IdentityDetail | undefined> {
    const [row] = await this.read<IdentityRow>(`SELECT ${IDENTITY_COLUMNS} FROM identities WHERE subject = $1`, [subject])
    if (row === undefined) return undefined
    const id = String(row.id)
    const access = await this.accessOf([id])
    const daily = await this.read<{ day: string; tokens: string | number }>(
      `SELECT to_char(day, 'YYYY-MM-DD') AS day, tokens FROM identity_daily_tokens WHERE identity_id = $1 ORDER BY day`,
      [id],
    )
    const dailyTokens: DailyTokens[] = daily.map((d) => ({ day: d.day, tokens: Number(d.tokens) }))
    const delegations = await this.read<DelegationRow & { actor: string }>(
      `SELECT actor, tokens, first_seen, last_seen FROM identity_delegations WHERE identity_id = $1
       ORDER BY last_seen DESC, actor LIMIT ${MAX_DELEGATIONS_SHOWN}`,
      [id],
    )
    const actedFor = await this.actedFor(subject, actedForUnder)
    return {
      ...toIdentity(row, access.get(id) ?? []),
      dailyTokens,
      delegations: delegations.map((d) => ({ actor: d.actor, ...delegationUse(d) })),
      actedFor: actedFor.map((d) => ({ subject: d.subject, ...delegationUse(d) })),
    }
  }

  async pruneDailyCounts(before: Date): Promise<number> {
    try {
      const rows = await this.db.query<{ pruned: string | number }>(
        `WITH pruned AS (DELETE FROM identity_daily_tokens WHERE day < $1::date RETURNING 1) SELECT count(*) AS pruned FROM pruned`,
        [before.toISOString().slice(0, 10)],
      )
      return Number(rows[0]?.pruned ?? 0)
    } catch (error) {
      throw storeFailure('the inventory of identities cannot be written', error, 'ledger_unavailable')
    }
  }

  /** The identities `actor` acted for, under `prefixes` if given (identity_delegations_actor_idx). */
  private actedFor(actor: string, prefixes: readonly string[] | undefined): Promise<(DelegationRow & { subject: string })[]> {
    const conditions = new SqlConditions().add('d.actor = ?', actor)
    if (prefixes !== undefined) conditions.underPrefixes('i.subject', prefixes)
    return this.read(
      `SELECT i.subject, d.tokens, d.first_seen, d.last_seen FROM identity_delegations d JOIN identities i ON i.id = d.identity_id
       ${conditions.where} ORDER BY d.last_seen DESC, i.subject USING ~<~ LIMIT ${MAX_DELEGATIONS_SHOWN}`,
      conditions.params,
    )
  }

  /** The access rows of these identities, by identity id. */
  private async accessOf(ids: string[]): Promise<Map<string, IdentityAccess[]>> {
    const byIdentity = new Map<string, IdentityAccess[]>()
    if (ids.length === 0) return byIdentity
    const rows = await this.read<AccessRow>(
      `SELECT identity_id, grant_id, audience, scope, first_used, last_used FROM identity_access
       WHERE identity_id = ANY($1::bigint[]) ORDER BY identity_id, grant_id, audience, scope`,
      [ids],
    )
    for (const row of rows) {
      const access: IdentityAccess = {
        grantId: row.grant_id,
        audience: row.audience,
        ...(row.scope === AUDIENCE_ROW ? {} : { scope: row.scope }),
        firstUsed: new Date(row.first_used),
        lastUsed: new Date(row.last_used),
      }
      const list = byIdentity.get(String(row.identity_id))
      if (list === undefined) byIdentity.set(String(row.identity_id), [access])
      else list.push(access)
    }
    return byIdentity
  }

  private async read<Row>(sql: string, params: unknown[]): Promise<Row[]> {
    try {
      return await this.db.query<Row>(sql, params)
    } catch (error) {
      throw storeFailure('the inventory of identities cannot be read', error, 'ledger_unavailable')
    }
  }
}

function toIdentity(row: IdentityRow, access: IdentityAccess[]): Identity {
  return {
    subject: row.subject,
    attestor: row.attestor,
    attestorKind: row.attestor_kind,
    sources: row.sources,
    firstSeen: new Date(row.first_seen),
    lastSeen: new Date(row.last_seen),
    access,
  }
}

function delegationUse(row: DelegationRow): { tokens: number; firstSeen: Date; lastSeen: Date } {
  return { tokens: Number(row.tokens), firstSeen: new Date(row.first_seen), lastSeen: new Date(row.last_seen) }
}

function subjectOf([subject, ...rest]: readonly unknown[]): string | undefined {
  return typeof subject === 'string' && subject.length > 0 && rest.length === 0 ? subject : undefined
}
