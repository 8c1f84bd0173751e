import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The directory of the package.json above `from` (this module, by default): the service's root, whether
 * it runs from src/ or from dist/src/, and so where the files shipped with it are (migrations/,
 * keys/aws/...). Looked up when called, never at import.
 *
 * @example
 * readdirSync(join(packageRoot(), 'migrations'))
 */
export function packageRoot(from = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ;) {
    if (existsSync(join(dir, 'package.json'))) return dir
    const parent = dirname(dir)
    // A broken installation, not a configuration problem: nothing an operator sets can fix it.
    if (parent === dir) throw new Error(`cannot find the files shipped with the service: no package.json above ${dirname(from)}`)
    dir = parent
  }
}
