import type { KeyObject } from 'node:crypto'
import { ServiceUnavailableError } from '../errors.js'
import { KeyDecryptionError } from './key-encryption.js'
import type { NewKey, Signer } from './signer.js'
import type { SigningAlgorithm, SigningKey } from './signing-key.js'

/** What an operator does so that a key of each signer can be opened. */
const REMEDIES: Record<string, string> = {
  software:
    'its private key is sealed with the key-encryption key: set STS_KEY_ENCRYPTION_KEY (or keys.encryptionKeyFile) beside ' +
    'keys.signer pkcs11, and the keys made before sign until rotation has replaced them',
  pkcs11: 'its private key is in a PKCS#11 token: set keys.pkcs11 to that token (keys.signer may stay software)',
}

/**
 * The signers of one instance: new keys are made by the one `keys.signer` names, and each key is
 * opened and signs with the signer that made it (the `signer` of its row). So a move from software
 * keys to an HSM (or back) needs no flag day: the keys made before go on signing until rotation
 * retires them, as long as their signer is still configured. A key whose signer is not is refused
 * with KeyDecryptionError, as a key sealed with another key-encryption key is.
 */
export class RoutingSigner implements Signer {
  readonly name: string
  private readonly signerOfKid = new Map<string, Signer>()

  constructor(
    private readonly making: Signer,
    private readonly signers: readonly Signer[],
  ) {
    this.name = making.name
  }

  generate(alg: SigningAlgorithm): Promise<NewKey> {
    return this.making.generate(alg)
  }

  importPrivateKey(privateKey: KeyObject): Promise<NewKey> {
    return this.making.importPrivateKey(privateKey)
  }

  async open(key: SigningKey): Promise<void> {
    const signer = this.signers.find((candidate) => candidate.name === key.signer)
    if (!signer) {
      const configured = this.signers.map((candidate) => candidate.name).join(' and ')
      throw new KeyDecryptionError(
        `signing key ${key.kid} was made by the ${key.signer} signer, and this instance has only ${configured}: ` +
          (REMEDIES[key.signer] ?? 'configure that signer'),
      )
    }
    await signer.open(key)
    this.signerOfKid.set(key.kid, signer)
  }

  sign(kid: string, data: Uint8Array): Promise<Uint8Array> {
    const signer = this.signerOfKid.get(kid)
    if (!signer) return Promise.reject(new ServiceUnavailableError(`signing key ${kid} is no longer available to sign with`, 'keys_stale'))
    return signer.sign(kid, data)
  }

  forget(kid: string): void {
    this.signerOfKid.get(kid)?.forget(kid)
    this.signerOfKid.delete(kid)
  }

  async close(): Promise<void> {
    for (const signer of this.signers) await signer.close?.()
  }
}
