import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto'

/** The sealed form's first byte: a later format can be told apart. */
const FORMAT = 1
const IV_BYTES = 12
const TAG_BYTES = 16

/** A private key cannot be opened with the key-encryption key given: the wrong one, or the row was tampered with. */
export class KeyDecryptionError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'KeyDecryptionError'
  }
}

/**
 * The key-encryption key (KEK): 32 bytes from STS_KEY_ENCRYPTION_KEY or keys.encryptionKeyFile, never
 * stored. Private signing keys are sealed with it (AES-256-GCM) before they reach the database, bound
 * to their kid (the additional data), so a row copied onto another kid does not open either.
 *
 * @example
 * const kek = new KeyEncryptionKey(randomBytes(32))
 * const sealed = kek.seal(pkcs8, kid)
 * kek.open(sealed, kid) // the PKCS#8 bytes again
 */
export class KeyEncryptionKey {
  /** Names the KEK without revealing it: recorded with each sealed key, so a wrong KEK is named as such. */
  readonly id: string
  readonly #key: Buffer

  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new TypeError(`a key-encryption key is 32 bytes, not ${key.length}`)
    this.#key = Buffer.from(key)
    this.id = createHash('sha256').update('seed-sts key-encryption key id\0').update(this.#key).digest('base64url').slice(0, 16)
  }

  seal(plaintext: Uint8Array, kid: string): Buffer {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv)
    cipher.setAAD(Buffer.from(kid))
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()])
    return Buffer.concat([Buffer.from([FORMAT]), iv, cipher.getAuthTag(), ciphertext])
  }

  /** Throws KeyDecryptionError when the sealed key was not sealed by this KEK for this kid. */
  open(sealed: Uint8Array, kid: string, sealedBy?: string | null): Buffer {
    const bytes = Buffer.from(sealed)
    if (sealedBy && sealedBy !== this.id) {
      throw new KeyDecryptionError(
        `signing key ${kid} was sealed with the key-encryption key ${sealedBy}, and the one configured is ${this.id}: ` +
          'set STS_KEY_ENCRYPTION_KEY (or keys.encryptionKeyFile) to the key the keys were made with',
      )
    }
    if (bytes.length < 1 + IV_BYTES + TAG_BYTES || bytes[0] !== FORMAT) {
      throw new KeyDecryptionError(`signing key ${kid} is not in a sealed form this release reads`)
    }
    const decipher = createDecipheriv('aes-256-gcm', this.#key, bytes.subarray(1, 1 + IV_BYTES))
    decipher.setAAD(Buffer.from(kid))
    decipher.setAuthTag(bytes.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES))
    try {
      return Buffer.concat([decipher.update(bytes.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()])
    } catch {
      throw new KeyDecryptionError(
        `signing key ${kid} cannot be decrypted with the configured key-encryption key ${this.id}: the wrong key, or the row was altered`,
      )
    }
  }

  /** Never printed whole: a log line or an inspected object shows the id only. */
  toJSON(): { id: string } {
    return { id: this.id }
  }
}
