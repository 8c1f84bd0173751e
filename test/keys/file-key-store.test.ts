import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import { FileKeyStore } from '../../src/keys/file-key-store.js'

function tempDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sts-keys-test-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('with no key, one is generated, private to its owner, and said so in the log', async (t) => {
  const dir = tempDir(t)
  const lines: string[] = []
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) })
  const store = await FileKeyStore.open(dir, 'ES256', logger, new Date(Date.UTC(2026, 10, 23, 8, 0, 0)))
  const files = readdirSync(dir)
  t.same(files, ['sts-20261123T080000Z.key.pem'])
  t.equal(statSync(join(dir, files[0])).mode & 0o777, 0o600)
  t.match(lines.join(''), /no signing key was found, so a new one was generated/)
  t.notMatch(lines.join(''), /PRIVATE KEY/, 'the key itself is never logged')

  const jwks = store.publicJwks()
  t.equal(jwks.keys.length, 1)
  const [jwk] = jwks.keys
  t.match(jwk, { kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: store.signingKey().kid })
  t.notOk('d' in jwk, 'only the public part is published')
})

t.test('a restart reuses the key; instances starting together agree on one', async (t) => {
  const dir = tempDir(t)
  const logger = pino({ level: 'silent' })
  const stores = await Promise.all([1, 2, 3, 4].map(() => FileKeyStore.open(dir, 'ES256', logger)))
  t.equal(new Set(stores.map((s) => s.signingKey().kid)).size, 1, 'one kid among concurrent starters')
  t.equal(readdirSync(dir).filter((f) => f.endsWith('.key.pem')).length, 1, 'one key file, no leftovers')
  const restarted = await FileKeyStore.open(dir, 'ES256', logger)
  t.equal(restarted.signingKey().kid, stores[0].signingKey().kid)
})

t.test('with several keys, all are published and the newest signs', async (t) => {
  const dir = tempDir(t)
  const logger = pino({ level: 'silent' })
  const first = await FileKeyStore.open(dir, 'ES256', logger, new Date(Date.UTC(2026, 0, 1)))
  // Rotation: an operator drops a newer key beside the old one (here: generated into a second dir and moved).
  const other = tempDir(t)
  await FileKeyStore.open(other, 'EdDSA', logger, new Date(Date.UTC(2026, 5, 1)))
  const { renameSync } = await import('node:fs')
  renameSync(join(other, 'sts-20260601T000000Z.key.pem'), join(dir, 'sts-20260601T000000Z.key.pem'))
  const rotated = await FileKeyStore.open(dir, 'ES256', logger)
  t.equal(rotated.signingKey().alg, 'EdDSA', 'the newest key signs')
  t.same(
    rotated
      .publicJwks()
      .keys.map((k) => k.kid)
      .sort(),
    [first.signingKey().kid, rotated.signingKey().kid].sort(),
    'both are published',
  )
})
