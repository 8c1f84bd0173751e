import { KeyDecryptionError, KeyEncryptionKey } from './key-encryption.js'

/** A private key sealed, and the id of the key-encryption key that sealed it (the row's kek_id). */
export interface SealedKey {
  sealed: Buffer
  kekId: string
}

/**
 * The key-encryption keys this instance holds: the `current` one, which seals every key from now on,
 * and the `previous` ones of a KEK rotation (keys.previousEncryptionKeys), which only open the keys
 * sealed before it, until they are re-sealed under the current one (src/keys/key-reseal.ts).
 *
 * A sealed key is opened with the KEK its row names (kek_id), never by trying each KEK in turn: a key
 * whose KEK is not configured here is refused with that id named, and a row whose kek_id was altered
 * does not open at all.
 *
 * @example
 * const keks = new KeyEncryptionKeys(new KeyEncryptionKey(newKek), [new KeyEncryptionKey(oldKek)])
 * const { sealed, kekId } = keks.seal(pkcs8, kid) // under the new one
 * keks.open(rowSealedUnderOld, kid, oldKekId)     // opens with the old one, chosen by its id
 */
export class KeyEncryptionKeys {
  readonly #byId = new Map<string, KeyEncryptionKey>()

  /** A previous KEK equal to the current one, or listed twice, is the same key once. */
  constructor(
    readonly current: KeyEncryptionKey,
    previous: readonly KeyEncryptionKey[] = [],
  ) {
    for (const kek of [current, ...previous]) if (!this.#byId.has(kek.id)) this.#byId.set(kek.id, kek)
  }

  /** The ids of the previous KEKs (the current one's excluded), in the order configured. */
  get previousIds(): string[] {
    return [...this.#byId.keys()].filter((id) => id !== this.current.id)
  }

  /** Whether a key sealed under `kekId` can be opened here; a row without a kek_id is the current KEK's. */
  knows(kekId: string | null): boolean {
    return kekId === null || this.#byId.has(kekId)
  }

  seal(plaintext: Uint8Array, kid: string): SealedKey {
    return { sealed: this.current.seal(plaintext, kid), kekId: this.current.id }
  }

  /** Throws KeyDecryptionError when `sealedBy` is not configured here, or the sealed key does not open with it. */
  open(sealed: Uint8Array, kid: string, sealedBy: string | null): Buffer {
    const kek = sealedBy === null ? this.current : this.#byId.get(sealedBy)
    if (!kek) throw new KeyDecryptionError(unknownKekMessage([kid], sealedBy!, this))
    return kek.open(sealed, kid, sealedBy)
  }

  /** Never printed whole: the ids only. */
  toJSON(): { current: string; previous: string[] } {
    return { current: this.current.id, previous: this.previousIds }
  }
}

/** The KEKs of the configuration: the current one's bytes, and the previous ones in base64 (keys.previousEncryptionKeys). */
export function keyEncryptionKeysOf(current: Uint8Array, previous: readonly string[]): KeyEncryptionKeys {
  return new KeyEncryptionKeys(
    new KeyEncryptionKey(current),
    previous.map((text) => new KeyEncryptionKey(Buffer.from(text, 'base64'))),
  )
}

/** Why keys sealed under a KEK this instance does not hold cannot be opened, and what to configure. */
export function unknownKekMessage(kids: readonly string[], kekId: string, keks: KeyEncryptionKeys): string {
  const previous = keks.previousIds
  const held = `the current one is ${keks.current.id}${previous.length > 0 ? `, the previous ones ${previous.join(', ')}` : ', with no previous one'}`
  return (
    `${kids.length === 1 ? `signing key ${kids[0]} was` : `signing keys ${kids.join(', ')} were`} sealed with the key-encryption key ${kekId}, ` +
    `which is not configured here (${held}): set STS_KEY_ENCRYPTION_KEY (or keys.encryptionKeyFile) to it, or while rotating ` +
    'the key-encryption key, list it in STS_PREVIOUS_KEY_ENCRYPTION_KEYS (or keys.previousEncryptionKeys, keys.previousEncryptionKeyFiles)'
  )
}
