import type { Database, Queryable } from '../db/database.js'
import { ADVISORY_LOCKS } from '../db/advisory-locks.js'
import { storeFailure, StsError } from '../errors.js'
import type { SealedKey } from './key-encryption-keys.js'
import type { KeyChange, SigningKeyStore } from './key-store.js'
import type { KeyState, PublicJwk, SigningAlgorithm, SigningKey } from './signing-key.js'

interface KeyRow {
  kid: string
  algorithm: SigningAlgorithm
  state: KeyState
  public_jwk: PublicJwk
  signer: string
  /** A Buffer from pg, a Uint8Array from PGlite. */
  private_key: Uint8Array | null
  kek_id: string | null
  origin: 'generated' | 'imported'
  created_at: Date
  published_at: Date
  activated_at: Date | null
  retired_at: Date | null
  remove_after: Date | null
  removed_at: Date | null
  revoked_at: Date | null
  revoked_by: string | null
  revoke_reason: string | null
}

const COLUMNS =
  'kid, algorithm, state, public_jwk, signer, private_key, kek_id, origin, created_at, published_at, activated_at, ' +
  'retired_at, remove_after, removed_at, revoked_at, revoked_by, revoke_reason'

/** KeyChange's fields and their columns. */
const CHANGE_COLUMNS: Record<keyof KeyChange, string> = {
  state: 'state',
  privateKey: 'private_key',
  kekId: 'kek_id',
  activatedAt: 'activated_at',
  retiredAt: 'retired_at',
  removeAfter: 'remove_after',
  removedAt: 'removed_at',
  revokedAt: 'revoked_at',
  revokedBy: 'revoked_by',
  revokeReason: 'revoke_reason',
}

/** The signing keys on Postgres or PGlite: the same SQL on both. */
export class SqlSigningKeyStore implements SigningKeyStore {
  constructor(private readonly db: Database) {}

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    try {
      return await this.db.transaction(work)
    } catch (error) {
      if (error instanceof StsError || error instanceof TypeError) throw error
      if (error instanceof Error && error.name === 'KeyDecryptionError') throw error
      throw storeFailure('the signing keys cannot be changed', error, 'keys_unavailable')
    }
  }

  async lock(tx: Queryable): Promise<void> {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [ADVISORY_LOCKS.signingKeys])
  }

  async list(tx?: Queryable): Promise<SigningKey[]> {
    const sql = `SELECT ${COLUMNS} FROM signing_keys ORDER BY created_at, kid`
    if (tx) return (await tx.query<KeyRow>(sql)).map(toKey)
    try {
      return (await this.db.query<KeyRow>(sql)).map(toKey)
    } catch (error) {
      throw storeFailure('the signing keys cannot be read', error, 'keys_unavailable')
    }
  }

  async insert(tx: Queryable, key: SigningKey): Promise<boolean> {
    const rows = await tx.query(
      `INSERT INTO signing_keys (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
       ON CONFLICT (kid) DO NOTHING RETURNING kid`,
      [
        key.kid,
        key.alg,
        key.state,
        JSON.stringify(key.publicJwk),
        key.signer,
        key.privateKey,
        key.kekId,
        key.origin,
        key.createdAt,
        key.publishedAt,
        key.activatedAt,
        key.retiredAt,
        key.removeAfter,
        key.removedAt,
        key.revokedAt,
        key.revokedBy,
        key.revokeReason,
      ],
    )
    return rows.length === 1
  }

  async update(tx: Queryable, kid: string, change: KeyChange): Promise<SigningKey> {
    const params: unknown[] = [kid]
    const sets = (Object.keys(change) as (keyof KeyChange)[]).map((field) => `${CHANGE_COLUMNS[field]} = $${params.push(change[field])}`)
    const rows = await tx.query<KeyRow>(`UPDATE signing_keys SET ${sets.join(', ')} WHERE kid = $1 RETURNING ${COLUMNS}`, params)
    if (rows.length !== 1) throw new TypeError(`no signing key ${kid} to update`)
    return toKey(rows[0])
  }

  async reseal(tx: Queryable, kid: string, fromKekId: string | null, to: SealedKey): Promise<SigningKey | undefined> {
    const rows = await tx.query<KeyRow>(
      `UPDATE signing_keys SET private_key = $3, kek_id = $4
       WHERE kid = $1 AND kek_id IS NOT DISTINCT FROM $2 AND private_key IS NOT NULL RETURNING ${COLUMNS}`,
      [kid, fromKekId, to.sealed, to.kekId],
    )
    return rows.length === 1 ? toKey(rows[0]) : undefined
  }
}

function toKey(row: KeyRow): SigningKey {
  const at = (value: Date | null) => (value === null ? null : new Date(value))
  return {
    kid: row.kid,
    alg: row.algorithm,
    state: row.state,
    publicJwk: row.public_jwk,
    signer: row.signer,
    privateKey: row.private_key === null ? null : Buffer.from(row.private_key),
    kekId: row.kek_id,
    origin: row.origin,
    createdAt: new Date(row.created_at),
    publishedAt: new Date(row.published_at),
    activatedAt: at(row.activated_at),
    retiredAt: at(row.retired_at),
    removeAfter: at(row.remove_after),
    removedAt: at(row.removed_at),
    revokedAt: at(row.revoked_at),
    revokedBy: row.revoked_by,
    revokeReason: row.revoke_reason,
  }
}
