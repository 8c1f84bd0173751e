import { randomBytes } from 'node:crypto'
import { chmodSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'

export interface DevelopmentKek {
  key: Buffer
  /** Where it is kept; undefined for an in-memory database, whose keys die with the process anyway. */
  file?: string
  created: boolean
}

/**
 * The key-encryption key of the development defaults (no configuration file, no DATABASE_URL, no
 * STS_KEY_ENCRYPTION_KEY): generated once beside the embedded database (`<data dir>/../key-encryption-key`,
 * mode 0600) and read from there at every start. Data, not configuration: like the database files
 * themselves, this is what the service keeps, not what the operator says. Kept beside the database it
 * protects, it protects nothing against whoever can read that directory: the service says so at start,
 * and any other setup must configure a key (src/config.ts refuses to start without one).
 */
export function developmentKek(dataDir: string): DevelopmentKek {
  if (dataDir === 'memory://') return { key: randomBytes(32), created: true }
  const file = join(dirname(resolve(dataDir)), 'key-encryption-key')
  mkdirSync(dirname(file), { recursive: true })
  let created = false
  try {
    created = writeOnce(file, randomBytes(32).toString('base64') + '\n')
  } catch (error) {
    throw new Error(`the development key-encryption key cannot be written to ${file}: ${(error as Error).message}`)
  }
  const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')
  if (key.length !== 32) throw new Error(`${file} does not hold a key-encryption key (32 bytes in base64)`)
  return { key, file, created }
}

/** Two instances starting at once on one directory agree: the file appears whole (a link), and the loser reads the winner's. */
function writeOnce(file: string, text: string): boolean {
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`
  writeFileSync(temp, text, { mode: 0o600 })
  chmodSync(temp, 0o600)
  try {
    linkSync(temp, file)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  } finally {
    unlinkSync(temp)
  }
}
