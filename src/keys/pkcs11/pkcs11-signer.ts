import { createHash, createPublicKey, randomBytes, verify, type KeyObject } from 'node:crypto'
import { calculateJwkThumbprint, type JWK } from 'jose'
import type { PKCS11 } from 'pkcs11js'
import { ConfigError } from '../../config-error.js'
import { ServiceUnavailableError } from '../../errors.js'
import { KeyDecryptionError } from '../key-encryption.js'
import type { NewKey, Signer } from '../signer.js'
import type { PublicJwk, SigningAlgorithm, SigningKey } from '../signing-key.js'
import { algorithmOf } from '../software-signer.js'
import { decodeKeyReference, encodeKeyReference } from './key-reference.js'
import { importTemplate, labelOf, MECHANISMS, privateKeyTemplate, publicJwkOf, publicKeyTemplate } from './key-templates.js'
import { CKA_EC_POINT, CKA_ID, CKA_KEY_TYPE, CKA_LABEL, CKA_CLASS, CKO_PRIVATE_KEY } from './pkcs11-constants.js'
import type { Pkcs11Config } from './pkcs11-config.js'
import { describe, ignoring, TokenFault, TokenRefusal } from './pkcs11-faults.js'
import { Pkcs11Token, type TokenOptions } from './pkcs11-token.js'

interface OpenedKey {
  alg: SigningAlgorithm
  id: Buffer
  /** Its object handle, valid on the connection it was found on. */
  handle?: { generation: number; object: Buffer }
}

/** What every opened key signs once to prove it is the private half of its published key. */
const PROBE = Buffer.from('seed-sts: the key in the token matches the published one')

/**
 * Private keys made and kept inside a PKCS#11 token (an HSM, a YubiHSM, SoftHSM2): generated there,
 * sensitive and not extractable, so no private key ever exists outside it. The keys table holds a
 * PKCS#11 URI naming the token and the key's CKA_ID (src/keys/pkcs11/key-reference.ts); `sign` is a
 * C_Sign in the token: ES256 as CKM_ECDSA over the SHA-256 digest (whose r || s is already the JWS
 * form), EdDSA as CKM_EDDSA. Token faults fail closed as 503 `signer_unavailable` (src/keys/pkcs11/pkcs11-token.ts).
 */
export class Pkcs11Signer implements Signer {
  readonly name = 'pkcs11'
  private readonly opened = new Map<string, OpenedKey>()

  constructor(private readonly token: Pkcs11Token) {}

  async generate(alg: SigningAlgorithm): Promise<NewKey> {
    this.ensureSupported(alg)
    const id = randomBytes(16)
    const { generate } = MECHANISMS[alg]
    return this.token.run('generate a key pair', async (session, module) => {
      const pair = await module.C_GenerateKeyPairAsync(
        session,
        { mechanism: generate },
        publicKeyTemplate(alg),
        privateKeyTemplate(alg, id, 'seed-sts new key'),
      )
      try {
        const [point] = module.C_GetAttributeValue(session, pair.publicKey, [{ type: CKA_EC_POINT }])
        const key = await this.newKey(alg, publicJwkOf(alg, point.value), id)
        // Cosmetic (an operator listing the token sees which kid each key is): a token refusing it still signs.
        ignoring(() => module.C_SetAttributeValue(session, pair.privateKey, [{ type: CKA_LABEL, value: labelOf(key.kid) }]))
        return key
      } catch (error) {
        ignoring(() => module.C_DestroyObject(session, pair.privateKey))
        throw error
      } finally {
        ignoring(() => module.C_DestroyObject(session, pair.publicKey))
      }
    })
  }

  /** The PEM keys of an earlier release, brought into the token: sensitive and unextractable from then on. */
  async importPrivateKey(privateKey: KeyObject): Promise<NewKey> {
    const alg = algorithmOf(privateKey)
    this.ensureSupported(alg)
    const id = randomBytes(16)
    const key = await this.newKey(alg, createPublicKey(privateKey).export({ format: 'jwk' }), id)
    return this.token.run('import a key', (session, module) => {
      const template = importTemplate(alg, privateKey, id, labelOf(key.kid))
      try {
        module.C_CreateObject(session, template)
      } finally {
        ;(template.at(-1)!.value as Buffer).fill(0)
      }
      return key
    })
  }

  /** Finds the key in the token, and proves it with a signature the published key verifies. */
  async open(key: SigningKey): Promise<void> {
    if (this.opened.has(key.kid)) return
    if (key.privateKey === null) throw new TypeError(`signing key ${key.kid} has no private key (it is ${key.state})`)
    const reference = decodeKeyReference(key.privateKey)
    if (!reference)
      throw new KeyDecryptionError(`signing key ${key.kid} has no PKCS#11 reference in its row: it is not a key this signer made`)
    if (reference.token !== this.token.label) {
      throw new KeyDecryptionError(
        `signing key ${key.kid} is in the PKCS#11 token "${reference.token}", and the token configured is "${this.token.label}": ` +
          'set keys.pkcs11 to the token the keys were made in',
      )
    }
    if (!this.supports(key.alg)) {
      throw new KeyDecryptionError(
        `signing key ${key.kid} is ${key.alg}, and the token "${this.token.label}" lacks ${MECHANISMS[key.alg].names}`,
      )
    }
    const opened: OpenedKey = { alg: key.alg, id: reference.id }
    const signature = await this.token.run('find a key', async (session, module) => {
      const object = findPrivateKey(module, session, reference.id)
      if (object === undefined) {
        throw new KeyDecryptionError(
          `signing key ${key.kid} is not in the PKCS#11 token "${this.token.label}" (no private key has its CKA_ID ` +
            `${reference.id.toString('hex')}): it was deleted, or this is another token with the same label`,
        )
      }
      const [type] = module.C_GetAttributeValue(session, object, [{ type: CKA_KEY_TYPE }])
      if (ulongOf(type.value) !== MECHANISMS[key.alg].keyType) {
        throw new KeyDecryptionError(`signing key ${key.kid}: the token's key with its CKA_ID is not an ${key.alg} key`)
      }
      opened.handle = { generation: this.token.generation, object }
      return signOnce(module, session, opened, PROBE)
    })
    const publicKey = createPublicKey({ key: key.publicJwk, format: 'jwk' })
    const dsaEncoding = 'ieee-p1363'
    if (!verify(key.alg === 'ES256' ? 'sha256' : null, PROBE, { key: publicKey, dsaEncoding }, signature)) {
      throw new KeyDecryptionError(`signing key ${key.kid}: the token's key with its CKA_ID is not the private half of the published key`)
    }
    this.opened.set(key.kid, opened)
  }

  async sign(kid: string, data: Uint8Array): Promise<Uint8Array> {
    const opened = this.opened.get(kid)
    // A key revoked or removed between the exchange taking it and signing with it: the next exchange takes the new one.
    if (!opened) throw new ServiceUnavailableError(`signing key ${kid} is no longer available to sign with`, 'keys_stale')
    return this.token.run('sign', async (session, module) => {
      if (opened.handle?.generation !== this.token.generation) {
        const object = findPrivateKey(module, session, opened.id)
        // Found when it was opened: a token that no longer finds it has lost track of its objects (reconnecting may cure that).
        if (object === undefined) throw new TokenFault(`signing key ${kid} is no longer found in it`)
        opened.handle = { generation: this.token.generation, object }
      }
      return signOnce(module, session, opened, Buffer.from(data))
    })
  }

  forget(kid: string): void {
    this.opened.delete(kid)
  }

  async close(): Promise<void> {
    await this.token.close()
  }

  private async newKey(alg: SigningAlgorithm, jwk: JWK, id: Buffer): Promise<NewKey> {
    const kid = await calculateJwkThumbprint(jwk, 'sha256')
    const publicJwk: PublicJwk = { ...jwk, kty: jwk.kty!, kid, alg, use: 'sig' }
    return { kid, alg, publicJwk, privateKey: encodeKeyReference({ token: this.token.label, id }), kekId: null }
  }

  private supports(alg: SigningAlgorithm): boolean {
    const mechanisms = this.token.mechanisms()
    return mechanisms.has(MECHANISMS[alg].generate) && mechanisms.has(MECHANISMS[alg].sign)
  }

  private ensureSupported(alg: SigningAlgorithm): void {
    if (!this.supports(alg))
      throw new TypeError(`the PKCS#11 token "${this.token.label}" lacks ${MECHANISMS[alg].names}: it cannot make ${alg} keys`)
  }
}

/**
 * Opens the token of `keys.pkcs11` (the pkcs11js binding is loaded here, and only here). What the
 * operator must fix (no binding, a module that does not load, no such token, a PIN refused, an
 * algorithm the token lacks) is a ConfigError naming the setting.
 */
export async function openPkcs11Signer(
  config: Pkcs11Config,
  algorithm: SigningAlgorithm,
  logger: TokenOptions['logger'],
  tuning: Pick<TokenOptions, 'retryAfterMs' | 'monotonic'> = {},
): Promise<Pkcs11Signer> {
  if (config.pin === undefined)
    throw new ConfigError(['keys.pkcs11.pin: the token needs its user PIN: set STS_PKCS11_PIN, or keys.pkcs11.pinFile'])
  let binding: typeof import('pkcs11js')
  try {
    binding = await import('pkcs11js')
  } catch (error) {
    throw new ConfigError([
      `keys.signer: pkcs11 needs the optional package pkcs11js, which cannot be loaded (${(error as Error).message}): ` +
        'install it with `npm install pkcs11js` where python3, make and a C++ compiler are present (it builds a native module)',
    ])
  }
  const module = new binding.PKCS11()
  try {
    module.load(config.module)
  } catch (error) {
    throw new ConfigError([`keys.pkcs11.module: ${config.module} cannot be loaded as a PKCS#11 module: ${describe(error)}`])
  }
  let token: Pkcs11Token
  try {
    token = new Pkcs11Token(module, { ...config, pin: config.pin, logger, ...tuning })
  } catch (error) {
    ignoring(() => module.C_Finalize())
    ignoring(() => module.close())
    if (error instanceof TokenRefusal) {
      const setting = error.pinRefused ? 'keys.pkcs11.pin' : config.tokenLabel !== undefined ? 'keys.pkcs11.tokenLabel' : 'keys.pkcs11.slot'
      const remedy = error.pinRefused ? ': check STS_PKCS11_PIN or keys.pkcs11.pinFile (a few wrong tries lock the PIN)' : ''
      throw new ConfigError([`${setting}: ${error.message}${remedy}`])
    }
    throw new Error(`the PKCS#11 token of keys.pkcs11 cannot be opened: ${describe(error)}`, { cause: error })
  }
  const signer = new Pkcs11Signer(token)
  if (!token.mechanisms().has(MECHANISMS[algorithm].generate) || !token.mechanisms().has(MECHANISMS[algorithm].sign)) {
    await signer.close()
    throw new ConfigError([
      `keys.algorithm: the PKCS#11 token "${token.label}" lacks ${MECHANISMS[algorithm].names}, so it cannot make or sign with ${algorithm} keys: ` +
        (algorithm === 'EdDSA' ? 'use ES256, or a token that supports EdDSA (PKCS#11 3.0)' : 'use a token that supports them'),
    ])
  }
  logger.info({ tokenLabel: token.label, module: config.module, sessions: config.sessions }, 'signing keys in a PKCS#11 token')
  return signer
}

function findPrivateKey(module: PKCS11, session: Buffer, id: Buffer): Buffer | undefined {
  module.C_FindObjectsInit(session, [
    { type: CKA_CLASS, value: CKO_PRIVATE_KEY },
    { type: CKA_ID, value: id },
  ])
  try {
    return module.C_FindObjects(session) ?? undefined
  } finally {
    module.C_FindObjectsFinal(session)
  }
}

/** One signature: ES256 over the SHA-256 digest (CKM_ECDSA signs a digest), EdDSA over the data itself. */
async function signOnce(module: PKCS11, session: Buffer, key: OpenedKey, data: Buffer): Promise<Buffer> {
  const input = key.alg === 'ES256' ? createHash('sha256').update(data).digest() : data
  module.C_SignInit(session, { mechanism: MECHANISMS[key.alg].sign }, key.handle!.object)
  const signature = await module.C_SignAsync(session, input, Buffer.alloc(64))
  if (signature.length !== 64) throw new TokenFault(`its ${key.alg} signature is ${signature.length} bytes, not 64`)
  return Buffer.from(signature)
}

/** A CK_ULONG attribute: 8 bytes on 64-bit Unix, 4 on Windows, in the machine's (little-endian) order. */
function ulongOf(value: Buffer): number {
  return value.length >= 8 ? Number(value.readBigUInt64LE(0)) : value.readUInt32LE(0)
}
