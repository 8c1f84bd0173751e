import type { Queryable } from '../db/database.js'
import { ServiceUnavailableError } from '../errors.js'
import type { BatchLedgerStore } from './batching-ledger.js'
import type { LedgerEntry, LedgerQuery } from './ledger-store.js'

interface LedgerRow {
  jti: string
  subject: string
  attestor: string
  attestor_kind: string
  attestation_fingerprint: string
  sources: string[]
  audience: string
  scopes: string[]
  grant_ids: string[]
  issued_at: Date
  expires_at: Date
  client_address: string | null
  request_id: string | null
}

const COLUMNS =
  'jti, subject, attestor, attestor_kind, attestation_fingerprint, sources, audience, scopes, grant_ids, issued_at, expires_at, client_address, request_id'

/** The ledger on Postgres or PGlite: the same SQL on both. */
export class SqlLedgerStore implements BatchLedgerStore {
  constructor(private readonly db: Queryable) {}

  record(entry: LedgerEntry): Promise<void> {
    return this.recordMany([entry])
  }

  /** One statement, so the entries are written all together or not at all. */
  async recordMany(entries: LedgerEntry[]): Promise<void> {
    if (entries.length === 0) return
    const params: unknown[] = []
    const rows = entries.map((entry) => {
      const values = [
        entry.jti,
        entry.subject,
        entry.attestor,
        entry.attestorKind,
        entry.attestationFingerprint,
        entry.sources,
        entry.audience,
        entry.scopes,
        entry.grantIds,
        entry.issuedAt,
        entry.expiresAt,
        entry.clientAddress,
        entry.requestId,
      ]
      const placeholders = values.map((value) => `$${params.push(value)}`)
      return `(${placeholders.join(', ')})`
    })
    try {
      await this.db.query(`INSERT INTO ledger (${COLUMNS}) VALUES ${rows.join(', ')}`, params)
    } catch (error) {
      throw new ServiceUnavailableError('the token ledger cannot be written', error)
    }
  }

  async get(jti: string): Promise<LedgerEntry | undefined> {
    const rows = await this.read(`SELECT ${COLUMNS} FROM ledger WHERE jti = $1`, [jti])
    return rows[0]
  }

  async list(query: LedgerQuery): Promise<LedgerEntry[]> {
    const where: string[] = []
    const params: unknown[] = []
    if (query.subject !== undefined) {
      params.push(query.subject)
      where.push(`subject = $${params.length}`)
    }
    if (query.liveAt !== undefined) {
      params.push(query.liveAt)
      where.push(`expires_at > $${params.length}`)
    }
    params.push(Math.min(query.limit ?? 100, 1000))
    const filter = where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''
    return this.read(`SELECT ${COLUMNS} FROM ledger ${filter} ORDER BY issued_at DESC, jti LIMIT $${params.length}`, params)
  }

  private async read(sql: string, params: unknown[]): Promise<LedgerEntry[]> {
    let rows: LedgerRow[]
    try {
      rows = await this.db.query<LedgerRow>(sql, params)
    } catch (error) {
      throw new ServiceUnavailableError('the token ledger cannot be read', error)
    }
    return rows.map(toEntry)
  }
}

function toEntry(row: LedgerRow): LedgerEntry {
  return {
    jti: row.jti,
    subject: row.subject,
    attestor: row.attestor,
    attestorKind: row.attestor_kind,
    attestationFingerprint: row.attestation_fingerprint,
    sources: row.sources,
    audience: row.audience,
    scopes: row.scopes,
    grantIds: row.grant_ids,
    issuedAt: new Date(row.issued_at),
    expiresAt: new Date(row.expires_at),
    clientAddress: row.client_address,
    requestId: row.request_id,
  }
}
