import type { Queryable } from '../db/database.js'
import { decodeCursor, encodeCursor, pageOf, SqlConditions } from '../db/sql.js'
import type { Page, PageRequest } from '../lib/page.js'
import { UUID_PATTERN } from '../lib/ids.js'
import { storeFailure } from '../errors.js'
import { globToSqlPattern, isGlob } from '../lib/glob.js'
import type { BatchLedgerStore } from './batching-ledger.js'
import { MAX_LEDGER_PAGE, type LedgerEntry, type LedgerFilter } from './ledger-store.js'

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
      throw storeFailure('the token ledger cannot be written', error, 'ledger_unavailable')
    }
  }

  async get(jti: string): Promise<LedgerEntry | undefined> {
    const rows = await this.read(`SELECT ${COLUMNS} FROM ledger WHERE jti = $1`, [jti])
    return rows[0]
  }

  async search(filter: LedgerFilter & PageRequest, now: Date): Promise<Page<LedgerEntry>> {
    if (!Number.isInteger(filter.limit) || filter.limit < 1 || filter.limit > MAX_LEDGER_PAGE) {
      throw new TypeError(`limit must be a whole number from 1 to ${MAX_LEDGER_PAGE}, not ${filter.limit}`)
    }
    const after = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor, positionOf)
    // grant_ids is uuid[]: anything else matches nothing, and sent as is would make the query fail.
    if (filter.grant !== undefined && !UUID_PATTERN.test(filter.grant)) return { items: [] }

    const conditions = new SqlConditions()
    if (filter.subject !== undefined) {
      // The glob's own anchored regex, so SQL and src/lib/glob.ts agree (test/ledger/ledger-glob.test.ts
      // holds them to it). A plain SPIFFE ID stays an equality, which the subject index answers directly.
      if (isGlob(filter.subject)) conditions.add('subject ~ ?', globToSqlPattern(filter.subject))
      else conditions.add('subject = ?', filter.subject)
    }
    // `@>` rather than `= ANY(...)`: the containment operators are the ones the GIN indexes serve.
    if (filter.grant !== undefined) conditions.add('grant_ids @> ARRAY[?::uuid]', filter.grant)
    if (filter.source !== undefined) conditions.add('sources @> ARRAY[?::text]', filter.source)
    if (filter.audience !== undefined) conditions.add('audience = ?', filter.audience)
    if (filter.since !== undefined) conditions.add('issued_at >= ?', filter.since)
    if (filter.until !== undefined) conditions.add('issued_at < ?', filter.until)
    if (filter.live === true) conditions.add('expires_at > ?', now)
    if (filter.live === false) conditions.add('expires_at <= ?', now)
    if (after !== undefined) conditions.add('(issued_at, jti) < (?, ?)', after.issuedAt, after.jti)
    const limit = conditions.param(filter.limit + 1)

    const rows = await this.read(
      `SELECT ${COLUMNS} FROM ledger ${conditions.where} ORDER BY issued_at DESC, jti DESC LIMIT ${limit}`,
      conditions.params,
    )
    return pageOf(rows, filter.limit, (last) => encodeCursor([last.issuedAt.toISOString(), last.jti]))
  }

  private async read(sql: string, params: unknown[]): Promise<LedgerEntry[]> {
    let rows: LedgerRow[]
    try {
      rows = await this.db.query<LedgerRow>(sql, params)
    } catch (error) {
      throw storeFailure('the token ledger cannot be read', error, 'ledger_unavailable')
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

/**
 * Pages are newest first, (issuedAt, jti) descending; a cursor is the position of the last entry handed
 * out. Milliseconds are exact: every row is written from a JavaScript Date, so `issued_at` never
 * carries finer precision than the cursor does.
 */
function positionOf([issuedAt, jti]: readonly unknown[]): { issuedAt: Date; jti: string } | undefined {
  const date = new Date(String(issuedAt))
  const exact = !Number.isNaN(date.getTime()) && date.toISOString() === issuedAt
  return exact && typeof jti === 'string' && jti.length > 0 && jti.length <= 256 ? { issuedAt: date, jti } : undefined
}
