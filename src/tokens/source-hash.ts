import { createHmac, hkdfSync } from 'node:crypto'
import { developmentKek } from '../keys/development-kek.js'
import { KeyEncryptionKeyText } from '../keys/keys-config.js'

/**
 * Keyed hashes of attestation source ids (`k8s:prod:node:node-a`, `aws:111122223333`...), the form in
 * which they reach resource servers: each token carries its sources' hashes (`src_h`), and a `source`
 * revocation is announced with the hash of its value, so a verifier decides source revocations
 * offline without ever learning account ids, node names or pod uids. The key is a deployment secret:
 * without it, a resource server cannot test a guessed source id against a hash.
 */

/** A source hash key is written as a key-encryption key is: 32 random bytes in base64. */
export const SourceHashKeyText = KeyEncryptionKeyText

export class SourceHasher {
  constructor(private readonly key: Buffer) {
    if (key.length !== 32) throw new TypeError('a source hash key is 32 bytes')
  }

  /** HMAC-SHA-256 of the source id (UTF-8) under the deployment's key, base64url without padding: 43 characters. */
  hash(sourceId: string): string {
    return createHmac('sha256', this.key).update(sourceId, 'utf8').digest('base64url')
  }
}

/**
 * The source hash key of a deployment that configures none, which only one without DATABASE_URL may be
 * (src/config.ts): derived from its key-encryption key, so the development defaults need no second
 * secret and keep the same hashes across restarts for as long as they keep that key.
 */
export function derivedSourceHashKey(keyEncryptionKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', keyEncryptionKey, Buffer.alloc(0), 'seed-sts source hash key', 32))
}

/** Where the key comes from: `tokens.sourceHashKey`, else (without DATABASE_URL only) derived from the key-encryption key in use. */
export interface SourceHashKeySettings {
  sourceHashKey: string | undefined
  keyEncryptionKey: string | undefined
  /** `database.dataDir`: where the development key-encryption key is kept when none is configured. */
  dataDir: string
}

export function sourceHasherFor(settings: SourceHashKeySettings): SourceHasher {
  return new SourceHasher(sourceHashKeyFor(settings))
}

/** The source hash key itself: the secret every instance of a deployment shares (DPoP nonces derive theirs from it). */
export function sourceHashKeyFor(settings: SourceHashKeySettings): Buffer {
  if (settings.sourceHashKey !== undefined) return Buffer.from(settings.sourceHashKey, 'base64')
  const kek =
    settings.keyEncryptionKey !== undefined ? Buffer.from(settings.keyEncryptionKey, 'base64') : developmentKek(settings.dataDir).key
  return derivedSourceHashKey(kek)
}
