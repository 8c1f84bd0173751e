import { createHash, timingSafeEqual } from 'node:crypto'
import type { Actor, AuditEntry, AuditLog } from '../audit/audit-log.js'
import type { Database } from '../db/database.js'
import { decodeCursor, encodeCursor, pageOf, SqlConditions } from '../db/sql.js'
import { InvalidGrantError, InvalidInputError, ServiceUnavailableError, type ErrorReason } from '../errors.js'
import type { Page, PageRequest } from '../lib/page.js'
import { registrationId, registrationToJson, type Registration, type RegistrationFilter } from './registration.js'
import type { RegistrationRequest, RegistrationStore, TidyOutcome } from './registration-store.js'

const MIN_NONCE_LENGTH = 16

interface RegistrationRow {
  attestor: string
  instance: string
  nonce_sha256: string | null
  first_seen: Date
  last_seen: Date
  last_address: string | null
  attestations: string | number
}

const COLUMNS = 'attestor, instance, nonce_sha256, first_seen, last_seen, last_address, attestations'

/** Registrations on Postgres or PGlite (the same SQL on both), one row per instance, updated under a row lock. */
export class SqlRegistrationStore implements RegistrationStore {
  constructor(
    private readonly db: Pick<Database, 'query' | 'exec' | 'transaction'>,
    private readonly audit: AuditLog,
  ) {}

  async admit(request: RegistrationRequest): Promise<void> {
    if (request.mode === 'nonce' && (request.nonce === undefined || request.nonce.length < MIN_NONCE_LENGTH)) {
      throw new InvalidGrantError(
        `a nonce of at least ${MIN_NONCE_LENGTH} characters is required: the instance keeps it, and must present it again at every attestation`,
        'nonce_required',
      )
    }
    const nonceHash = request.nonce === undefined ? null : sha256(request.nonce)
    let refusal: Refusal | undefined
    try {
      await this.db.transaction(async (tx) => {
        const inserted = await tx.query(
          `INSERT INTO instance_registrations (attestor, instance, nonce_sha256, first_seen, last_seen, last_address)
           VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT DO NOTHING RETURNING instance`,
          [request.attestor, request.instance, request.mode === 'nonce' ? nonceHash : null, request.now, request.clientAddress],
        )
        if (inserted.length > 0) return
        const [row] = await tx.query<{ nonce_sha256: string | null }>(
          'SELECT nonce_sha256 FROM instance_registrations WHERE attestor = $1 AND instance = $2 FOR UPDATE',
          [request.attestor, request.instance],
        )
        // Forgotten (by an operator or the tidy) between the insert and the lock: the next attestation
        // registers afresh; this one is refused rather than guessed about.
        if (row === undefined) {
          refusal = { message: `instance ${request.instance} was forgotten while it attested: try again`, reason: 'registration_changed' }
          return
        }
        refusal = refusalFor(request, row.nonce_sha256, nonceHash)
        if (refusal) return
        await tx.query(
          'UPDATE instance_registrations SET last_seen = $3, last_address = $4, attestations = attestations + 1 WHERE attestor = $1 AND instance = $2',
          [request.attestor, request.instance, request.now, request.clientAddress],
        )
      })
    } catch (error) {
      throw new ServiceUnavailableError('instance registrations cannot be checked', 'registrations_unavailable', error)
    }
    if (refusal) throw new InvalidGrantError(refusal.message, refusal.reason)
  }

  async get(attestor: string, instance: string): Promise<Registration | undefined> {
    const rows = await this.read(`SELECT ${COLUMNS} FROM instance_registrations WHERE attestor = $1 AND instance = $2`, [
      attestor,
      instance,
    ])
    return rows[0]
  }

  async list(filter: RegistrationFilter & PageRequest): Promise<Page<Registration>> {
    const after = filter.cursor === undefined ? undefined : decodeCursor(filter.cursor, positionOf)
    if (filter.lastSeenBefore && filter.lastSeenAfter && filter.lastSeenBefore <= filter.lastSeenAfter) {
      throw new InvalidInputError('lastSeenBefore must be after lastSeenAfter', [
        { path: 'lastSeenBefore', message: 'must be after lastSeenAfter' },
      ])
    }
    const conditions = new SqlConditions()
    if (filter.attestor !== undefined) conditions.add('attestor = ?', filter.attestor)
    // The glob's own anchored regex, as the ledger search does, so SQL and src/lib/glob.ts agree.
    if (filter.instance !== undefined) conditions.matchGlob('instance', filter.instance)
    if (filter.lastSeenBefore !== undefined) conditions.add('last_seen < ?', filter.lastSeenBefore)
    if (filter.lastSeenAfter !== undefined) conditions.add('last_seen >= ?', filter.lastSeenAfter)
    if (after !== undefined) conditions.add('(attestor, instance) > (?, ?)', after.attestor, after.instance)
    const limit = conditions.param(filter.limit + 1)
    const rows = await this.read(
      `SELECT ${COLUMNS} FROM instance_registrations ${conditions.where} ORDER BY attestor, instance LIMIT ${limit}`,
      conditions.params,
    )
    return pageOf(rows, filter.limit, (last) => encodeCursor([last.attestor, last.instance]))
  }

  async forget(attestor: string, instance: string, reason: string, now: Date, actor: Actor): Promise<Registration | undefined> {
    try {
      return await this.db.transaction(async (tx) => {
        const rows = await tx.query<RegistrationRow>(
          `DELETE FROM instance_registrations WHERE attestor = $1 AND instance = $2 RETURNING ${COLUMNS}`,
          [attestor, instance],
        )
        const forgotten = rows.map(toRegistration).at(0)
        if (forgotten) await this.audit.record(tx, forgetting(forgotten, now, actor, 'registration.forget', reason))
        return forgotten
      })
    } catch (error) {
      throw new ServiceUnavailableError('instance registrations cannot be changed', 'registrations_unavailable', error)
    }
  }

  /** Rows another instance is tidying are skipped, not waited for, so every instance can run the tidy. */
  async tidy(lastSeenBefore: Date, limit: number, now: Date, actor: Actor, reason: string): Promise<TidyOutcome> {
    try {
      return await this.db.transaction(async (tx) => {
        const rows = await tx.query<RegistrationRow>(
          `DELETE FROM instance_registrations WHERE (attestor, instance) IN (
             SELECT attestor, instance FROM instance_registrations WHERE last_seen < $1 ORDER BY last_seen LIMIT $2 FOR UPDATE SKIP LOCKED
           ) RETURNING ${COLUMNS}`,
          [lastSeenBefore, limit],
        )
        const forgotten = rows.map(toRegistration)
        await this.audit.recordMany(
          tx,
          forgotten.map((registration) => forgetting(registration, now, actor, 'registration.tidy', reason)),
        )
        return { forgotten }
      })
    } catch (error) {
      throw new ServiceUnavailableError('instance registrations cannot be tidied', 'registrations_unavailable', error)
    }
  }

  private async read(sql: string, params: unknown[]): Promise<Registration[]> {
    try {
      return (await this.db.query<RegistrationRow>(sql, params)).map(toRegistration)
    } catch (error) {
      throw new ServiceUnavailableError('instance registrations cannot be read', 'registrations_unavailable', error)
    }
  }
}

function forgetting(registration: Registration, at: Date, actor: Actor, action: string, reason: string): AuditEntry {
  return {
    at,
    actor: actor.name,
    action,
    targetType: 'registration',
    targetId: registrationId(registration.attestor, registration.instance),
    before: registrationToJson(registration),
    // Nothing is left after: the entry keeps why.
    after: { reason },
    requestId: actor.requestId,
  }
}

function toRegistration(row: RegistrationRow): Registration {
  return {
    attestor: row.attestor,
    instance: row.instance,
    nonceBound: row.nonce_sha256 !== null,
    firstSeen: new Date(row.first_seen),
    lastSeen: new Date(row.last_seen),
    lastAddress: row.last_address,
    attestations: Number(row.attestations),
  }
}

interface Refusal {
  message: string
  reason: ErrorReason
}

function refusalFor(request: RegistrationRequest, registered: string | null, presented: string | null): Refusal | undefined {
  const instance = `instance ${request.instance}`
  if (request.mode === 'always') return undefined
  if (request.mode === 'never')
    return {
      message: `${instance} has attested already, and this attestor allows one attestation per instance`,
      reason: 'instance_already_attested',
    }
  if (registered === null || presented === null || !timingSafeEqual(Buffer.from(registered, 'hex'), Buffer.from(presented, 'hex'))) {
    return {
      message:
        `${instance} is registered with another nonce: this document may be a copy ` +
        '(if the instance lost its nonce, an operator must forget its registration)',
      reason: 'nonce_mismatch',
    }
  }
  return undefined
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex')
}

/** Pages are in (attestor, instance) order; a cursor is the last registration handed out. */
function positionOf([attestor, instance]: readonly unknown[]): { attestor: string; instance: string } | undefined {
  return typeof attestor === 'string' && typeof instance === 'string' ? { attestor, instance } : undefined
}
