import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { developmentKek } from '../../src/keys/development-kek.js'

t.test('the development key-encryption key is made once beside the data directory, private, and read back after', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sts-dev-kek-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const first = developmentKek(join(dir, 'data', 'ledger'))
  const file = join(dir, 'data', 'key-encryption-key')
  t.same([first.file, first.created, first.key.length], [file, true, 32])
  t.equal(statSync(file).mode & 0o777, 0o600, 'only the service user can read it')
  t.equal(readFileSync(file, 'utf8'), `${first.key.toString('base64')}\n`)
  const second = developmentKek(join(dir, 'data', 'ledger'))
  t.same([second.created, second.key.toString('hex')], [false, first.key.toString('hex')], 'the same key at the next start')
})

t.test('an in-memory database gets a throwaway key and no file', async (t) => {
  const made = developmentKek('memory://')
  t.same([made.file, made.created, made.key.length], [undefined, true, 32])
  t.not(developmentKek('memory://').key.toString('hex'), made.key.toString('hex'))
})
