import { accessSync, constants, mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { ConfigError } from '../config-error.js'

/**
 * Makes sure the process can write `dir` (creating it if need be) before anything starts writing there,
 * so that a container whose volume is missing or read-only stops with one line that says which
 * directory needs a writable volume, instead of an EACCES or EROFS from deep inside a store.
 *
 * Thrown as a ConfigError: the deployment, not a transient fault, has to change, and the server prints
 * it without a stack and exits 2 as for any other configuration problem.
 *
 * @example
 * ensureWritableDirectory('data/ledger', { key: 'database.dataDir', instead: 'or set DATABASE_URL to use Postgres' })
 */
export function ensureWritableDirectory(dir: string, what: { key: string; instead: string }): void {
  const absolute = resolve(dir)
  try {
    mkdirSync(absolute, { recursive: true })
    // access(2) also answers EROFS for a read-only mount, which the mode bits would not show.
    accessSync(absolute, constants.W_OK | constants.X_OK)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error'
    throw new ConfigError([
      `${what.key}: the directory ${absolute} cannot be written by this process (uid ${uidText()}, ${code}); ` +
        `mount a writable volume at ${absolute} (in Kubernetes an emptyDir or a PersistentVolumeClaim), ${what.instead}`,
    ])
  }
}

function uidText(): string {
  return typeof process.getuid === 'function' ? String(process.getuid()) : 'unknown'
}
