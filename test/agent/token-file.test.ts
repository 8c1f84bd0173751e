import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { readTokenFile, writeTokenFile } from '../../src/agent/token-file.js'

/** A token file is replaced whole: a new file (a new inode) renamed over the old, mode 0600, nothing left beside it. */

const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), 'sts-token-file-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('each write is a new file renamed over the old one, mode 0600 whatever the umask', async (t) => {
  const dir = scratch()
  const file = join(dir, 'ledger.token')
  writeFileSync(file, 'the token before', { mode: 0o644 })
  const before = statSync(file).ino
  // A umask that takes the owner's write bit: the file must still be exactly 0600.
  const umask = process.umask(0o277)
  t.teardown(() => process.umask(umask))

  await writeTokenFile(file, 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln')
  const first = statSync(file)
  t.equal(readFileSync(file, 'utf8'), 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln', 'the token, with nothing added')
  t.equal(first.mode & 0o777, 0o600)
  t.not(first.ino, before, 'not written in place: a reader holding the old file still reads the old token whole')

  await writeTokenFile(file, 'second')
  t.not(statSync(file).ino, first.ino)
  t.equal(await readTokenFile(file), 'second')
  t.same(readdirSync(dir), ['ledger.token'], 'no temporary file left behind')
})

t.test('the directory is made when missing, private to the agent', async (t) => {
  const dir = scratch()
  const file = join(dir, 'run', 'sts', 'a.token')
  await writeTokenFile(file, 'token')
  t.equal(readFileSync(file, 'utf8'), 'token')
  t.equal(statSync(join(dir, 'run', 'sts')).mode & 0o777, 0o700)
})

t.test('a write that cannot happen throws, and the old file stays as it was', async (t) => {
  const dir = scratch()
  const file = join(dir, 'a.token')
  writeFileSync(file, 'the old token')
  writeFileSync(join(dir, 'not-a-directory'), '')
  await t.rejects(writeTokenFile(join(dir, 'not-a-directory', 'a.token'), 'new'), { code: 'EEXIST' })
  // A directory where the file should be: the rename fails after the temporary file is written.
  const blocked = join(dir, 'blocked')
  mkdirSync(join(blocked, 'inner'), { recursive: true })
  await t.rejects(writeTokenFile(blocked, 'new'), { code: 'EISDIR' })
  t.equal(readFileSync(file, 'utf8'), 'the old token')
  t.same(readdirSync(dir).sort(), ['a.token', 'blocked', 'not-a-directory'], 'the temporary file was removed')
  t.equal(await readTokenFile(join(dir, 'missing')), undefined)
})
