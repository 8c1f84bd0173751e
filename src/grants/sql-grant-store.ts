import { randomUUID } from 'node:crypto'
import { UUID_PATTERN } from '../lib/ids.js'
import type { Actor, AuditLog } from '../audit/audit-log.js'
import type { Database, Queryable } from '../db/database.js'
import { decodeCursor, encodeCursor, pageOf, SqlConditions } from '../db/sql.js'
import type { Page, PageRequest } from '../lib/page.js'
import { storeFailure } from '../errors.js'
import { grantToJson, type Grant } from './grant.js'
import type { GrantChange, GrantDraft, GrantFilter, GrantStore, GrantWarnings } from './grant-store.js'

interface GrantRow {
  id: string
  subject: string
  conditions: Record<string, string | string[]>
  audiences: string[]
  scopes: string[]
  max_ttl_seconds: number
  owner: string
  description: string
  expires_at: Date
  enabled: boolean
  require_dpop: boolean
  may_act: string[]
  version: number
  created_at: Date
  updated_at: Date
}

/** A change as read: a grant row with its position, or a deletion (every grant column null). */
type ChangeRow = { seq: string | bigint; deleted_id: string | null } & GrantRow

const COLUMNS =
  'id, subject, conditions, audiences, scopes, max_ttl_seconds, owner, description, expires_at, enabled, require_dpop, may_act, version, created_at, updated_at'

/** Grants on Postgres or PGlite: the same SQL on both. */
export class SqlGrantStore implements GrantStore {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
  ) {}

  async create(draft: GrantDraft, now: Date, actor: Actor, warnings: GrantWarnings = {}): Promise<Grant> {
    const created = await this.audited(actor, now, 'grant.create', warnings, async (tx) => {
      const rows = await tx.query<GrantRow>(
        `INSERT INTO grants (id, subject, conditions, audiences, scopes, max_ttl_seconds, owner, description, expires_at, enabled,
                             require_dpop, may_act, version, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13) RETURNING ${COLUMNS}`,
        [randomUUID(), ...draftParams(draft), now],
      )
      return { before: undefined, after: toGrant(rows[0]) }
    })
    return created!
  }

  async get(id: string): Promise<Grant | undefined> {
    if (!UUID_PATTERN.test(id)) return undefined
    const rows = await this.run(`SELECT ${COLUMNS} FROM grants WHERE id = $1`, [id])
    return rows.map(toGrant).at(0)
  }

  async list(filter: GrantFilter & PageRequest): Promise<Page<Grant>> {
    const conditions = new SqlConditions()
    if (filter.owner !== undefined) conditions.add('owner = ?', filter.owner)
    if (filter.subject !== undefined) conditions.add('subject = ?', filter.subject)
    if (filter.owners !== undefined) conditions.add('owner = ANY(?::text[])', [...filter.owners])
    if (filter.subjectPrefixes !== undefined) conditions.underPrefixes('subject', filter.subjectPrefixes)
    return this.page(conditions, filter)
  }

  async replace(
    id: string,
    draft: GrantDraft,
    expectedVersion: number,
    now: Date,
    actor: Actor,
    warnings: GrantWarnings = {},
  ): Promise<Grant | undefined | 'conflict'> {
    if (!UUID_PATTERN.test(id)) return undefined
    const replaced = await this.audited(actor, now, 'grant.replace', warnings, async (tx) => {
      const before = await lockedGrant(tx, id)
      if (!before || before.version !== expectedVersion) return { before, after: undefined }
      const rows = await tx.query<GrantRow>(
        `UPDATE grants SET subject = $2, conditions = $3, audiences = $4, scopes = $5, max_ttl_seconds = $6, owner = $7,
           description = $8, expires_at = $9, enabled = $10, require_dpop = $11,
           may_act = $12, version = version + 1, updated_at = $13
         WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, ...draftParams(draft), now],
      )
      return { before, after: toGrant(rows[0]) }
    })
    if (replaced) return replaced
    return (await this.get(id)) ? 'conflict' : undefined
  }

  async disable(id: string, now: Date, actor: Actor, reason?: string): Promise<Grant | undefined> {
    if (!UUID_PATTERN.test(id)) return undefined
    let unchanged: Grant | undefined
    const disabled = await this.audited(actor, now, 'grant.disable', reason === undefined ? {} : { reason }, async (tx) => {
      const before = await lockedGrant(tx, id)
      // Disabling a disabled grant changes nothing, and so writes no audit entry.
      if (!before || !before.enabled) {
        unchanged = before
        return { before, after: undefined }
      }
      const rows = await tx.query<GrantRow>(
        `UPDATE grants SET enabled = false, version = version + 1, updated_at = $2 WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, now],
      )
      return { before, after: toGrant(rows[0]) }
    })
    return disabled ?? unchanged
  }

  async listActive(now: Date, page: PageRequest): Promise<Page<Grant>> {
    return this.page(new SqlConditions().add('enabled AND expires_at > ?', now), page)
  }

  async lastSeq(): Promise<bigint> {
    // One statement, one snapshot: both tables as of the same moment.
    const rows = await this.read<{ seq: string }>(
      `SELECT greatest((SELECT coalesce(max(seq), 0) FROM grants), (SELECT coalesce(max(seq), 0) FROM grant_deletions))::text AS seq`,
      [],
    )
    return BigInt(rows[0]?.seq ?? 0)
  }

  async changesSince(after: bigint, limit: number): Promise<GrantChange[]> {
    // One statement, so the grants and the deletions are read from the same snapshot: reading them
    // apart could skip a change committed between the two reads behind a later deletion.
    const rows = await this.read<ChangeRow>(
      `SELECT seq, NULL::uuid AS deleted_id, ${COLUMNS} FROM grants WHERE seq > $1
       UNION ALL
       SELECT seq, id, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM grant_deletions WHERE seq > $1
       ORDER BY seq LIMIT $2`,
      [String(after), limit],
    )
    return rows.map((row) =>
      row.deleted_id === null ? { seq: BigInt(row.seq), id: row.id, grant: toGrant(row) } : { seq: BigInt(row.seq), id: row.deleted_id },
    )
  }

  /** A page of the grants that meet `conditions`, in creation order (the grants_list_idx order). */
  private async page(conditions: SqlConditions, request: PageRequest): Promise<Page<Grant>> {
    if (request.cursor !== undefined) {
      const after = decodeCursor(request.cursor, positionOf)
      conditions.add('(created_at, id) > (?, ?)', after.createdAt, after.id)
    }
    const limit = conditions.param(request.limit + 1)
    const rows = await this.run(
      `SELECT ${COLUMNS} FROM grants ${conditions.where} ORDER BY created_at, id LIMIT ${limit}`,
      conditions.params,
    )
    return pageOf(rows.map(toGrant), request.limit, (last) => encodeCursor([last.createdAt.toISOString(), last.id]))
  }

  /** Runs a change and writes its audit entry (with the warnings or reason noted) on the same transaction; no entry when nothing changed. */
  private async audited(
    actor: Actor,
    now: Date,
    action: string,
    notes: GrantWarnings & { reason?: string },
    change: (tx: Queryable) => Promise<{ before: Grant | undefined; after: Grant | undefined }>,
  ): Promise<Grant | undefined> {
    try {
      return await this.db.transaction(async (tx) => {
        const { before, after } = await change(tx)
        if (after) {
          await this.audit.record(tx, {
            at: now,
            actor: actor.name,
            action,
            targetType: 'grant',
            targetId: after.id,
            before: before && grantToJson(before),
            after: {
              ...grantToJson(after),
              ...((notes.guardrailWarnings?.length ?? 0) > 0 ? { guardrailWarnings: notes.guardrailWarnings } : {}),
              ...(notes.reason === undefined ? {} : { reason: notes.reason }),
            },
            requestId: actor.requestId,
          })
        }
        return after
      })
    } catch (error) {
      throw storeFailure('the grant store cannot be reached', error, 'grants_unavailable')
    }
  }

  private run(sql: string, params: unknown[]): Promise<GrantRow[]> {
    return this.read<GrantRow>(sql, params)
  }

  private async read<Row>(sql: string, params: unknown[]): Promise<Row[]> {
    try {
      return await this.db.query<Row>(sql, params)
    } catch (error) {
      throw storeFailure('the grant store cannot be reached', error, 'grants_unavailable')
    }
  }
}

async function lockedGrant(tx: Queryable, id: string): Promise<Grant | undefined> {
  const rows = await tx.query<GrantRow>(`SELECT ${COLUMNS} FROM grants WHERE id = $1 FOR UPDATE`, [id])
  return rows.map(toGrant).at(0)
}

function draftParams(draft: GrantDraft): unknown[] {
  return [
    draft.subject,
    JSON.stringify(draft.conditions),
    draft.audiences,
    draft.scopes,
    draft.maxTtlSeconds,
    draft.owner,
    draft.description,
    draft.expiresAt,
    draft.enabled,
    draft.requireDpop,
    draft.mayAct,
  ]
}

function toGrant(row: GrantRow): Grant {
  return {
    id: row.id,
    subject: row.subject,
    conditions: row.conditions,
    audiences: row.audiences,
    scopes: row.scopes,
    maxTtlSeconds: row.max_ttl_seconds,
    owner: row.owner,
    description: row.description,
    expiresAt: new Date(row.expires_at),
    enabled: row.enabled,
    requireDpop: row.require_dpop,
    mayAct: row.may_act,
    version: row.version,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  }
}

/** Pages are in (createdAt, id) order; a cursor is the position of the last grant handed out. */
function positionOf([createdAt, id]: readonly unknown[]): { createdAt: Date; id: string } | undefined {
  const date = new Date(String(createdAt))
  return typeof id === 'string' && UUID_PATTERN.test(id) && !Number.isNaN(date.getTime()) ? { createdAt: date, id } : undefined
}
