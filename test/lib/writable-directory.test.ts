import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ConfigError } from '../../src/config-error.js'
import { ensureWritableDirectory } from '../../src/lib/writable-directory.js'

// Written as another user by test/deploy/image-layout.test.ts (EACCES); here what any user meets.
const what = { key: 'database.dataDir', instead: 'or set DATABASE_URL to keep the ledger in Postgres' }

t.test('a missing directory is created, with its parents', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sts-writable-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  ensureWritableDirectory(join(dir, 'data', 'ledger'), what)
  t.ok(statSync(join(dir, 'data', 'ledger')).isDirectory())
})

t.test('a directory that cannot be made is a configuration error naming the key, the path and the volume to mount', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sts-writable-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'data'), 'a file where the volume should be')
  const target = join(dir, 'data', 'ledger')
  let thrown: unknown
  try {
    ensureWritableDirectory(target, what)
  } catch (error) {
    thrown = error
  }
  t.ok(thrown instanceof ConfigError)
  t.same((thrown as ConfigError).problems, [
    `database.dataDir: the directory ${target} cannot be written by this process (uid ${process.getuid!()}, ENOTDIR); ` +
      `mount a writable volume at ${target} (in Kubernetes an emptyDir or a PersistentVolumeClaim), or set DATABASE_URL to keep the ledger in Postgres`,
  ])
})

t.test('a relative directory is named by its absolute path', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sts-writable-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'data'), '')
  const cwd = process.cwd()
  process.chdir(dir)
  t.teardown(() => process.chdir(cwd))
  t.throws(() => ensureWritableDirectory('data/ledger', what), { message: new RegExp(`the directory ${dir}/data/ledger cannot`) })
})
