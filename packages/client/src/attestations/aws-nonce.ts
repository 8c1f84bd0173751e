import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { AttestationError } from './attestation.js'

/**
 * The instance's nonce for the AWS attestor: a secret made once per instance and kept in a file that
 * only its owner reads (mode 0600). The STS binds the instance's registration to the nonce of its
 * first attestation (README, "AWS EC2 attestor"): a process that made a nonce of its own each start
 * would lock the instance out after its first restart, and two processes with two nonces would lock
 * each other out. So every process on the instance reads the one file, and only the first ever writes it.
 *
 * Creation is atomic: the nonce is written whole to a temporary file (O_EXCL, 0600, fsync'd), then
 * hard-linked to its name, which fails if the name exists. Exactly one process wins a race; the others
 * read the winner's nonce, and no reader ever sees a half-written file. The format, 64 hex characters
 * and a newline, is what README's shell example (`openssl rand -hex 32`) writes, so both share a file.
 */

/** What the AWS attestor accepts: 16 to 256 visible ASCII characters. */
const NONCE = /^[\x21-\x7e]{16,256}$/

export async function readOrCreateNonce(path: string): Promise<string> {
  const existing = await readNonce(path)
  if (existing !== undefined) return existing
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  const nonce = randomBytes(32).toString('hex')
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}`)
  const file = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)
  try {
    await file.writeFile(`${nonce}\n`)
    await file.sync()
  } finally {
    await file.close()
  }
  try {
    await link(temporary, path)
    await syncDirectory(dirname(path))
    return nonce
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new AttestationError(`the nonce file ${path} cannot be created: ${(error as Error).message}`, false, { cause: error })
    }
    // Another process made it first: theirs is the instance's nonce.
    const theirs = await readNonce(path)
    if (theirs === undefined) throw new AttestationError(`the nonce file ${path} vanished while it was being created`, true)
    return theirs
  } finally {
    await unlink(temporary).catch(() => {})
  }
}

async function readNonce(path: string): Promise<string | undefined> {
  let text: string
  try {
    const info = await stat(path)
    // Fail closed: a nonce others could read is a nonce a copied document could be sent with.
    if ((info.mode & 0o077) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(4, '0')
      throw new AttestationError(`the nonce file ${path} has mode ${mode}; it must be readable by its owner only (chmod 600)`, false)
    }
    text = await readFile(path, 'utf8')
  } catch (error) {
    if (error instanceof AttestationError) throw error
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new AttestationError(`the nonce file ${path} cannot be read: ${(error as Error).message}`, false, { cause: error })
  }
  const nonce = text.trim()
  if (!NONCE.test(nonce)) {
    throw new AttestationError(`the nonce file ${path} does not hold a nonce (16 to 256 visible ASCII characters)`, false)
  }
  return nonce
}

/** Makes the new name durable: without it a power cut could lose the link but not the registration. */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, constants.O_RDONLY).catch(() => undefined)
  if (handle === undefined) return
  try {
    await handle.sync().catch(() => {})
  } finally {
    await handle.close()
  }
}
