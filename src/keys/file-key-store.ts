import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { chmodSync, existsSync, linkSync, readdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { calculateJwkThumbprint, type JWK } from 'jose'
import type { Logger } from 'pino'
import { ensureWritableDirectory } from '../lib/writable-directory.js'
import type { KeyStore, PublicJwk, SigningAlgorithm, SigningKey } from './key-store.js'

const KEY_FILE = /^sts-(\d{8}T\d{6}Z)\.key\.pem$/

/**
 * Signing keys as PKCS#8 PEM files in one directory (`sts-<UTC timestamp>.key.pem`, mode 0600). All
 * are published; the newest signs. With none there, one is generated and written so that instances
 * starting together on a shared directory agree on it: the file appears atomically (link of a
 * finished temp file) and the loser of the race reads the winner's key.
 */
export class FileKeyStore implements KeyStore {
  private constructor(
    private readonly active: SigningKey,
    private readonly jwks: { keys: PublicJwk[] },
  ) {}

  static async open(dir: string, algorithm: SigningAlgorithm, logger: Logger, now = new Date()): Promise<FileKeyStore> {
    // A directory that holds keys is only read (a read-only Secret volume will do); one with none must
    // take the generated key, and a missing or read-only volume there is said as such.
    if (!existsSync(dir) || listKeyFiles(dir).length === 0) {
      ensureWritableDirectory(dir, {
        key: 'keys.dir',
        instead: 'or put the signing keys (sts-<UTC timestamp>.key.pem) there, e.g. from a Secret',
      })
      const file = generateKeyFile(dir, algorithm, now)
      if (file) logger.warn({ file }, 'no signing key was found, so a new one was generated; keep this directory private and back it up')
    }
    const keys = await Promise.all(listKeyFiles(dir).map((name) => loadKey(join(dir, name))))
    const active = keys[keys.length - 1]
    logger.info({ kid: active.kid, alg: active.alg, published: keys.length }, 'signing keys loaded')
    return new FileKeyStore(active, { keys: keys.map((k) => k.publicJwk) })
  }

  signingKey(): SigningKey {
    return this.active
  }

  publicJwks(): { keys: PublicJwk[] } {
    return this.jwks
  }
}

function listKeyFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => KEY_FILE.test(name))
    .sort()
}

function generateKeyFile(dir: string, algorithm: SigningAlgorithm, now: Date): string | undefined {
  const { privateKey } = algorithm === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519')
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')
  const file = join(dir, `sts-${stamp}.key.pem`)
  const temp = join(dir, `.sts-${process.pid}-${Date.now()}.key.tmp`)
  writeFileSync(temp, pem, { mode: 0o600 })
  chmodSync(temp, 0o600)
  try {
    linkSync(temp, file)
    return file
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined
    throw error
  } finally {
    unlinkSync(temp)
  }
}

async function loadKey(file: string): Promise<SigningKey & { publicJwk: PublicJwk }> {
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey(readFileSync(file))
  } catch (error) {
    throw new Error(`signing key ${file} cannot be read: ${(error as Error).message}`)
  }
  const alg = algorithmOf(privateKey, file)
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK
  const kid = await calculateJwkThumbprint(jwk, 'sha256')
  return { kid, alg, privateKey, publicJwk: { ...jwk, kty: jwk.kty!, kid, alg, use: 'sig' } }
}

function algorithmOf(key: KeyObject, file: string): SigningAlgorithm {
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256'
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA'
  throw new Error(`signing key ${file} must be an EC P-256 or Ed25519 private key`)
}
