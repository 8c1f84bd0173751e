import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { KeyEncryptionKey } from '../../src/keys/key-encryption.js'
import { eventually } from '../support/eventually.js'
import { ADMIN_TOKEN, baseConfig, ready, start, TEST_KEY_ENCRYPTION_KEY, type Started } from '../support/compiled-server.js'

/**
 * A rotation of the key-encryption key on the compiled service, configured as an operator does: the
 * new KEK in STS_KEY_ENCRYPTION_KEY and the old ones in STS_PREVIOUS_KEY_ENCRYPTION_KEYS, or in files.
 * The new instance re-seals the keys at its start and its gauge says none is left; the old instance's
 * gauge says what it cannot open; an instance started with the old KEK alone stops with one line that
 * names the KEK the keys need, and no stack trace.
 */

const idOf = (kek: string) => new KeyEncryptionKey(Buffer.from(kek, 'base64')).id
const NEW_KEK = Buffer.alloc(32, 11).toString('base64')
const UNUSED_KEK = Buffer.alloc(32, 12).toString('base64')
const GAUGE = 'sts_signing_keys_sealed_under_previous_kek'

async function keks(server: Started): Promise<(string | null)[]> {
  const answer = await fetch(`${server.url}/v1/keys`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  return ((await answer.json()) as { keys: { kekId: string | null }[] }).keys.map((key) => key.kekId)
}

async function gauge(server: Started): Promise<string | undefined> {
  const body = await (await fetch(`${server.url}/metrics`)).text()
  return body.split('\n').find((line) => line.startsWith(`${GAUGE} `))
}

t.test('the compiled service rotates its key-encryption key from its environment, and refuses the old one alone in one line', async (t) => {
  const { config } = await baseConfig(t)
  const settings = { ...config, keys: { maintenanceIntervalSeconds: 1 } }
  const old = await start(t, settings)
  await ready(t, old)
  t.same(await keks(old), [idOf(TEST_KEY_ENCRYPTION_KEY)])

  const rotated = await start(t, settings, {
    STS_KEY_ENCRYPTION_KEY: NEW_KEK,
    STS_PREVIOUS_KEY_ENCRYPTION_KEYS: `${UNUSED_KEK}, ${TEST_KEY_ENCRYPTION_KEY}`,
  })
  await ready(t, rotated)
  t.ok(await eventually(t, async () => (await keks(rotated))[0] === idOf(NEW_KEK), { what: 'the key re-sealed at the start' }))
  t.equal(await gauge(rotated), `${GAUGE} 0`)
  t.ok(await eventually(t, async () => (await gauge(old)) === `${GAUGE} 1`, { what: "the old instance's gauge: one key it cannot open" }))
  t.match(
    rotated.logs().find((line) => line.msg === 'key-encryption keys in use'),
    { kekId: idOf(NEW_KEK), previousKekIds: [idOf(UNUSED_KEK), idOf(TEST_KEY_ENCRYPTION_KEY)] },
    'the ids it holds, said at start',
  )
  t.notOk(rotated.output().includes(NEW_KEK) || rotated.output().includes(TEST_KEY_ENCRYPTION_KEY), 'never the keys themselves')

  // The new KEK from a file, the old ones dropped: it starts. The old KEK alone: it stops, saying why.
  const file = join(rotated.file, '..', 'new-kek')
  writeFileSync(file, `${NEW_KEK}\n`, { mode: 0o600 })
  const fromFile = await start(t, { ...settings, keys: { ...settings.keys, encryptionKeyFile: file } }, { STS_KEY_ENCRYPTION_KEY: '' })
  await ready(t, fromFile)
  const refused = await start(t, settings)
  t.equal(await refused.exited, 1)
  const [kid] = ((await (await fetch(`${fromFile.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map(
    (k) => k.kid,
  )
  t.same(
    refused
      .output()
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('{')),
    [
      `seed-sts: failed to start: signing key ${kid} was sealed with the key-encryption key ${idOf(NEW_KEK)}, which is not configured here ` +
        `(the current one is ${idOf(TEST_KEY_ENCRYPTION_KEY)}, with no previous one): set STS_KEY_ENCRYPTION_KEY (or keys.encryptionKeyFile) ` +
        'to it, or while rotating the key-encryption key, list it in STS_PREVIOUS_KEY_ENCRYPTION_KEYS (or keys.previousEncryptionKeys, ' +
        'keys.previousEncryptionKeyFiles)',
    ],
    'one line',
  )
  t.notMatch(refused.output(), /\.js:\d+:\d+/, 'no stack trace, in the logs either')
})
