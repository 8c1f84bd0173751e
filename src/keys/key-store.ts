import type { Queryable } from '../db/database.js'
import type { SealedKey } from './key-encryption-keys.js'
import type { SigningKey } from './signing-key.js'

/** The changes a step of a key's life makes to its row. */
export type KeyChange = Partial<
  Pick<
    SigningKey,
    | 'state'
    | 'privateKey'
    | 'kekId'
    | 'activatedAt'
    | 'retiredAt'
    | 'removeAfter'
    | 'removedAt'
    | 'revokedAt'
    | 'revokedBy'
    | 'revokeReason'
  >
>

/**
 * The signing keys table. Changes are made on a transaction the caller holds (`tx`), after `lock`, so
 * the audit entry shares it and two instances never change the keys at once.
 */
export interface SigningKeyStore {
  /** Runs `work` on one transaction; a failure of the store itself becomes a ServiceUnavailableError, our own errors pass. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>
  /** Serialises changes to the keys until `tx` ends. */
  lock(tx: Queryable): Promise<void>
  /** Every key, oldest first; on `tx` when given. Throws ServiceUnavailableError when the store cannot answer. */
  list(tx?: Queryable): Promise<SigningKey[]>
  /** False when a key with this kid exists already (nothing is written). */
  insert(tx: Queryable, key: SigningKey): Promise<boolean>
  update(tx: Queryable, kid: string, change: KeyChange): Promise<SigningKey>
  /**
   * Replaces a key's sealed private key, only while its row still names the KEK `fromKekId` and holds a
   * private key: undefined when another run re-sealed it first, or it was revoked or removed meanwhile.
   */
  reseal(tx: Queryable, kid: string, fromKekId: string | null, to: SealedKey): Promise<SigningKey | undefined>
}
