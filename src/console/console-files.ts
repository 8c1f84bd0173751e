import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { extname, join } from 'node:path'
import { packageRoot } from '../lib/package-root.js'

/** One file of the console, read once at start. */
export interface ConsoleFile {
  body: Buffer
  contentType: string
  /** A strong validator: the file's SHA-256. */
  etag: string
}

/** The console's files by name: the only files /console can ever answer with. */
export type ConsoleFiles = ReadonlyMap<string, ConsoleFile>

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
}

/** Flat names only: a name with a slash, a backslash or a leading dot can never be one of them. */
const FILE_NAME = /^[a-z0-9][a-z0-9-]*\.[a-z]+$/

/**
 * Reads the console's files (the `console/` folder shipped beside `migrations/`) into memory. What is
 * served is this map, looked up by exact name: no request path ever reaches the file system, so no
 * path can climb out of the folder. Files of other kinds or names are left out.
 *
 * @example
 * const files = readConsoleFiles()
 * files.get('index.html')?.contentType // 'text/html; charset=utf-8'
 */
export function readConsoleFiles(dir = join(packageRoot(), 'console')): ConsoleFiles {
  const files = new Map<string, ConsoleFile>()
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const contentType = CONTENT_TYPES[extname(entry.name)]
    if (!entry.isFile() || !FILE_NAME.test(entry.name) || contentType === undefined) continue
    const body = readFileSync(join(dir, entry.name))
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`
    files.set(entry.name, { body, contentType, etag })
  }
  // A broken installation, not a configuration problem: say where the files were looked for.
  if (!files.has('index.html')) throw new Error(`the console's files are missing: no index.html in ${dir} (or set console.enabled: false)`)
  return files
}
