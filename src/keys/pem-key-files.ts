import { createPrivateKey, type KeyObject } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** How the release before named its signing keys (`sts-<UTC timestamp>.key.pem`); the newest signed. */
const KEY_FILE = /^sts-(\d{8}T\d{6}Z)\.key\.pem$/

export interface PemKeyFile {
  file: string
  privateKey: KeyObject
  /** When the release before made it, from its name: published and (the newest) signing since. */
  createdAt: Date
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
      const stamp = KEY_FILE.exec(name)![1]
      const createdAt = new Date(stamp.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'))
      try {
        return { file, privateKey: createPrivateKey(readFileSync(file)), createdAt }
      } catch (error) {
        throw new Error(`signing key ${file} cannot be read: ${(error as Error).message}`)
      }
    })
}
