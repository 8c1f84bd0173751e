import { randomBytes } from 'node:crypto'
import t from 'tap'
import { KeyDecryptionError, KeyEncryptionKey } from '../../src/keys/key-encryption.js'

const kek = new KeyEncryptionKey(Buffer.alloc(32, 1))
const other = new KeyEncryptionKey(Buffer.alloc(32, 2))
const secret = randomBytes(138)

t.test('what is sealed opens again with the same key and kid, and does not show in the sealed bytes', async (t) => {
  const sealed = kek.seal(secret, 'kid-1')
  t.same(kek.open(sealed, 'kid-1', kek.id), secret)
  t.equal(sealed.indexOf(secret.subarray(0, 16)), -1, 'no part of the clear key is in the sealed form')
  t.equal(sealed.length, 1 + 12 + 16 + secret.length, 'format byte, IV, tag, ciphertext')
  t.not(kek.seal(secret, 'kid-1').toString('hex'), sealed.toString('hex'), 'a new IV each time')
})

t.test('another key-encryption key is refused, naming both', async (t) => {
  const sealed = kek.seal(secret, 'kid-1')
  t.throws(() => other.open(sealed, 'kid-1', kek.id), {
    name: 'KeyDecryptionError',
    message: `signing key kid-1 was sealed with the key-encryption key ${kek.id}, and the one configured is ${other.id}: set STS_KEY_ENCRYPTION_KEY (or keys.encryptionKeyFile) to the key the keys were made with`,
  })
  // Without the recorded id, the cipher itself refuses.
  t.throws(
    () => other.open(sealed, 'kid-1'),
    new KeyDecryptionError(
      `signing key kid-1 cannot be decrypted with the configured key-encryption key ${other.id}: the wrong key, or the row was altered`,
    ),
  )
})

t.test('a sealed key moved onto another kid, or altered, does not open', async (t) => {
  const sealed = kek.seal(secret, 'kid-1')
  t.throws(() => kek.open(sealed, 'kid-2'), KeyDecryptionError, 'bound to its kid')
  const altered = Buffer.from(sealed)
  altered[altered.length - 1] ^= 1
  t.throws(() => kek.open(altered, 'kid-1'), KeyDecryptionError, 'tamper-evident')
  t.throws(() => kek.open(sealed.subarray(0, 10), 'kid-1'), { message: 'signing key kid-1 is not in a sealed form this release reads' })
})

t.test('a key-encryption key is 32 bytes, and never prints itself', async (t) => {
  t.throws(() => new KeyEncryptionKey(Buffer.alloc(16)), TypeError)
  t.same(JSON.parse(JSON.stringify({ kek })), { kek: { id: kek.id } })
  t.not(kek.id, other.id)
  t.equal(new KeyEncryptionKey(Buffer.alloc(32, 1)).id, kek.id, 'the id is stable')
})
