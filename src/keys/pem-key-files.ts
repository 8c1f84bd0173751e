import { createPrivateKey, type KeyObject } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** How the release before named its signing keys (`sts-<UTC timestamp>.key.pem`); the newest signed. */
const KEY_FILE = /^sts-(\d{8}T\d{6}Z)\.key\.pem$/

export interface PemKeyFile {
  file: string
  privateKey: KeyObject
}

/**
 * The signing keys an earlier release kept as PEM files in `keys.dir`, oldest first: what the upgrade
 * imports into the keys table, once (src/keys/key-service.ts). A missing directory is no keys.
 */
export function readPemKeyFiles(dir: string): PemKeyFile[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((name) => KEY_FILE.test(name))
    .sort()
    .map((name) => {
      const file = join(dir, name)
      try {
        return { file, privateKey: createPrivateKey(readFileSync(file)) }
      } catch (error) {
        throw new Error(`signing key ${file} cannot be read: ${(error as Error).message}`)
      }
    })
}
