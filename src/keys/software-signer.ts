import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { calculateJwkThumbprint, type JWK } from 'jose'
import { ServiceUnavailableError } from '../errors.js'
import type { KeyEncryptionKeys, SealedKey } from './key-encryption-keys.js'
import type { KeySealing } from './key-reseal.js'
import type { NewKey, Signer } from './signer.js'
import type { PublicJwk, SigningAlgorithm, SigningKey } from './signing-key.js'

/**
 * Private keys made here, sealed with the current key-encryption key (AES-256-GCM) before they are
 * stored, and opened into memory to sign, with the KEK their row names (a previous one during a KEK
 * rotation, until they are re-sealed). The clear key exists only in this process's memory.
 */
export class SoftwareSigner implements Signer, KeySealing {
  readonly name = 'software'
  private readonly opened = new Map<string, { alg: SigningAlgorithm; key: KeyObject }>()

  constructor(readonly keks: KeyEncryptionKeys) {}

  async generate(alg: SigningAlgorithm): Promise<NewKey> {
    const { privateKey } = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519')
    return this.importPrivateKey(privateKey)
  }

  async importPrivateKey(privateKey: KeyObject): Promise<NewKey> {
    const alg = algorithmOf(privateKey)
    const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK
    const kid = await calculateJwkThumbprint(jwk, 'sha256')
    const { sealed, kekId } = this.keks.seal(privateKey.export({ type: 'pkcs8', format: 'der' }), kid)
    return {
      kid,
      alg,
      publicJwk: { ...jwk, kty: jwk.kty!, kid, alg, use: 'sig' } satisfies PublicJwk,
      privateKey: sealed,
      kekId,
    }
  }

  async open(key: SigningKey): Promise<void> {
    if (this.opened.has(key.kid)) return
    if (key.privateKey === null) throw new TypeError(`signing key ${key.kid} has no private key (it is ${key.state})`)
    const der = this.keks.open(key.privateKey, key.kid, key.kekId)
    this.opened.set(key.kid, { alg: key.alg, key: createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }) })
    der.fill(0)
  }

  reseal(key: SigningKey): SealedKey {
    if (key.privateKey === null) throw new TypeError(`signing key ${key.kid} has no private key (it is ${key.state})`)
    const der = this.keks.open(key.privateKey, key.kid, key.kekId)
    try {
      return this.keks.seal(der, key.kid)
    } finally {
      der.fill(0)
    }
  }

  async sign(kid: string, data: Uint8Array): Promise<Uint8Array> {
    const opened = this.opened.get(kid)
    // A key revoked or removed between the exchange taking it and signing with it: the next exchange takes the new one.
    if (!opened) throw new ServiceUnavailableError(`signing key ${kid} is no longer available to sign with`, 'keys_stale')
    return opened.alg === 'ES256' ? sign('sha256', data, { key: opened.key, dsaEncoding: 'ieee-p1363' }) : sign(null, data, opened.key)
  }

  forget(kid: string): void {
    this.opened.delete(kid)
  }
}

/** The algorithms tokens are signed with: EC P-256 (ES256) or Ed25519 (EdDSA). */
export function algorithmOf(key: KeyObject): SigningAlgorithm {
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256'
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA'
  throw new TypeError('a signing key must be an EC P-256 or Ed25519 private key')
}
