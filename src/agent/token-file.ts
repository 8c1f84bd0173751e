import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/**
 * A token file is replaced whole or not at all: the token goes into a new file beside it (same
 * directory, so the rename cannot cross filesystems), mode 0600, flushed to disk, then renamed over
 * the old one. rename(2) is atomic: a reader opens either the old file or the new one, never a file
 * being written, and a crash leaves the old token in place.
 */
export async function writeTokenFile(path: string, contents: string): Promise<void> {
  const directory = dirname(path)
  await mkdir(directory, { recursive: true, mode: 0o700 })
  // A dot file, so a reader globbing the directory does not pick it up; random, so two agents never share one.
  const temporary = join(directory, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await open(temporary, 'wx', 0o600)
  try {
    // The umask may have taken bits from the mode asked for, never added any: set it exactly.
    await handle.chmod(0o600)
    await handle.writeFile(contents)
    await handle.sync()
    await handle.close()
    await rename(temporary, path)
  } catch (error) {
    await handle.close().catch(() => {})
    await rm(temporary, { force: true })
    throw error
  }
  await syncDirectory(directory)
}

/** What the file holds now, or undefined when it is missing or unreadable. */
export async function readTokenFile(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8')
  } catch {
    return undefined
  }
}

/** Makes the rename itself survive a power loss. Some filesystems cannot sync a directory: that is no failure. */
async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await open(directory, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // The file is in place and readable either way.
  }
}
