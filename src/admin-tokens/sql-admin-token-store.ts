import { createHash, randomBytes, randomUUID } from 'node:crypto'
import type { Actor, AuditLog } from '../audit/audit-log.js'
import type { Database } from '../db/database.js'
import { ConflictError, storeFailure } from '../errors.js'
import { UUID_PATTERN } from '../lib/ids.js'
import { adminTokenToJson, type AdminRole, type AdminToken } from './admin-token.js'
import type { AdminTokenInputs, AdminTokenStore } from './admin-token-store.js'
import { normalScope } from './team-scope.js'

interface AdminTokenRow {
  id: string
  name: string
  roles: AdminRole[]
  created_at: Date
  created_by: string
  expires_at: Date | null
  revoked_at: Date | null
  revoked_by: string | null
  scope_owners: string[] | null
  scope_subject_prefixes: string[] | null
}

const COLUMNS = 'id, name, roles, created_at, created_by, expires_at, revoked_at, revoked_by, scope_owners, scope_subject_prefixes'

/**
 * What token_sha256 holds for a scoped token: its digest marked, so a replica of the release before
 * team scopes (which reads no scope) never finds it and refuses it rather than widening it
 * (migrations/017_admin_token_team_scopes.sql).
 */
const SCOPED_MARK = 'scoped:'

/** Admin tokens on Postgres or PGlite: the same SQL on both. Only a token's SHA-256 is stored. */
export class SqlAdminTokenStore implements AdminTokenStore {
  constructor(
    private readonly db: Database,
    private readonly audit: AuditLog,
  ) {}

  async create(input: AdminTokenInputs, now: Date, actor: Actor): Promise<{ token: AdminToken; secret: string }> {
    const secret = `sts_admin_${randomBytes(32).toString('base64url')}`
    const scope = input.scope === null ? null : normalScope(input.scope)
    return this.run(async () =>
      this.db.transaction(async (tx) => {
        const rows = await tx.query<AdminTokenRow>(
          `INSERT INTO admin_tokens (id, name, token_sha256, roles, created_at, created_by, expires_at, scope_owners, scope_subject_prefixes)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
          [
            randomUUID(),
            input.name,
            scope === null ? sha256(secret) : SCOPED_MARK + sha256(secret),
            [...new Set(input.roles)].sort(),
            now,
            actor.name,
            input.expiresAt,
            scope?.owners ?? null,
            scope?.subjectPrefixes ?? null,
          ],
        )
        if (rows.length === 0) {
          throw new ConflictError(
            `an admin token named ${input.name} exists or existed: a name is never reused, so the audit log names one token`,
            'admin_token_name_taken',
          )
        }
        const token = toToken(rows[0])
        await this.audit.record(tx, {
          at: now,
          actor: actor.name,
          action: 'admin-token.create',
          targetType: 'admin-token',
          targetId: token.id,
          before: null,
          after: adminTokenToJson(token),
          requestId: actor.requestId,
        })
        return { token, secret }
      }),
    )
  }

  async list(): Promise<AdminToken[]> {
    return this.run(async () =>
      (await this.db.query<AdminTokenRow>(`SELECT ${COLUMNS} FROM admin_tokens ORDER BY created_at, id`)).map(toToken),
    )
  }

  async revoke(id: string, now: Date, actor: Actor, mayRevoke: (token: AdminToken) => void = () => {}): Promise<AdminToken | undefined> {
    if (!UUID_PATTERN.test(id)) return undefined
    return this.run(async () =>
      this.db.transaction(async (tx) => {
        const current = await tx.query<AdminTokenRow>(
          `SELECT ${COLUMNS} FROM admin_tokens WHERE id = $1 AND revoked_at IS NULL FOR UPDATE`,
          [id],
        )
        if (current.length === 0) return undefined
        mayRevoke(toToken(current[0]))
        const rows = await tx.query<AdminTokenRow>(
          `UPDATE admin_tokens SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL RETURNING ${COLUMNS}`,
          [id, now, actor.name],
        )
        if (rows.length === 0) return undefined
        const token = toToken(rows[0])
        await this.audit.record(tx, {
          at: now,
          actor: actor.name,
          action: 'admin-token.revoke',
          targetType: 'admin-token',
          targetId: id,
          before: { ...adminTokenToJson(token), revokedAt: null, revokedBy: null },
          after: adminTokenToJson(token),
          requestId: actor.requestId,
        })
        return token
      }),
    )
  }

  async findUsable(secret: string, now: Date): Promise<AdminToken | undefined> {
    const rows = await this.run(() =>
      this.db.query<AdminTokenRow>(
        `SELECT ${COLUMNS} FROM admin_tokens WHERE token_sha256 IN ($1, $2) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $3)`,
        [sha256(secret), SCOPED_MARK + sha256(secret), now],
      ),
    )
    return rows.map(toToken).at(0)
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (error) {
      // Refusals raised inside (a name taken, a revocation not allowed) pass through storeFailure as they are.
      throw storeFailure('the admin token store cannot be reached', error, 'admin_tokens_unavailable')
    }
  }
}

function sha256(secret: string): string {
  return createHash('sha256').update(secret).digest('hex')
}

function toToken(row: AdminTokenRow): AdminToken {
  return {
    id: row.id,
    name: row.name,
    roles: row.roles,
    createdAt: new Date(row.created_at),
    createdBy: row.created_by,
    expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
    revokedAt: row.revoked_at === null ? null : new Date(row.revoked_at),
    revokedBy: row.revoked_by,
    scope:
      row.scope_owners === null || row.scope_subject_prefixes === null
        ? null
        : { owners: row.scope_owners, subjectPrefixes: row.scope_subject_prefixes },
  }
}
