import type { KeyObject } from 'node:crypto'
import type { PublicJwk, SigningAlgorithm, SigningKey } from './signing-key.js'

/** A key pair just made or imported, as the keys table will hold it. */
export interface NewKey {
  kid: string
  alg: SigningAlgorithm
  publicJwk: PublicJwk
  /** What the signer needs to sign with it later: a sealed private key, or a reference inside an HSM. */
  privateKey: Buffer
  kekId: string | null
}

/**
 * The private half of the signing keys: where it is kept and how it signs. The keys table holds the
 * public JWK and whatever `privateKey` the signer returned; the lifecycle (src/keys/key-service.ts)
 * never sees a private key in the clear. Two implementations: `software` (src/keys/software-signer.ts:
 * keys sealed with the key-encryption key in the database) and `pkcs11` (src/keys/pkcs11/: keys made
 * and kept inside an HSM token, `privateKey` a PKCS#11 URI naming the key, `sign` a C_Sign in the
 * token). src/keys/routing-signer.ts makes new keys with the configured one and signs with each key's
 * own. A cloud KMS would plug in the same way.
 */
export interface Signer {
  /** Recorded with each key: which signer can sign with it. */
  readonly name: string
  /** Makes a key pair. The kid is the RFC 7638 thumbprint of the public key. */
  generate(alg: SigningAlgorithm): Promise<NewKey>
  /** Takes over an existing private key (the PEM files of an earlier release). */
  importPrivateKey(privateKey: KeyObject): Promise<NewKey>
  /** Makes a key ready to sign with; throws KeyDecryptionError when its private key cannot be opened. */
  open(key: SigningKey): Promise<void>
  /** A JWS signature (ES256 in its IEEE P1363 form) over `data`, with a key opened before. */
  sign(kid: string, data: Uint8Array): Promise<Uint8Array>
  /** Forgets an opened key: it will not sign again. */
  forget(kid: string): void
  /** Lets go of what it holds open (an HSM's sessions); after it, nothing signs. */
  close?(): Promise<void>
}
