import { randomBytes } from 'node:crypto'
import t from 'tap'
import { KeyDecryptionError, KeyEncryptionKey } from '../../src/keys/key-encryption.js'
import { KeyEncryptionKeys } from '../../src/keys/key-encryption-keys.js'

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

t.test('a rotation: keys seal under the current KEK, and open with the one their row names, current or previous', async (t) => {
  const rotated = new KeyEncryptionKeys(other, [kek])
  const before = new KeyEncryptionKeys(kek)
  const old = before.seal(secret, 'kid-1')
  t.equal(old.kekId, kek.id)
  t.same(rotated.open(old.sealed, 'kid-1', old.kekId), secret, 'sealed under the previous KEK: opens with it')
  const now = rotated.seal(secret, 'kid-1')
  t.equal(now.kekId, other.id, 'new seals are under the current KEK')
  t.same(rotated.open(now.sealed, 'kid-1', now.kekId), secret)
  t.same(rotated.open(now.sealed, 'kid-1', null), secret, 'a row naming no KEK is the current one')
  t.same([rotated.knows(kek.id), rotated.knows(other.id), before.knows(other.id), before.knows(null)], [true, true, false, true])
  t.same(rotated.previousIds, [kek.id])
  t.same(new KeyEncryptionKeys(kek, [kek, other, other]).previousIds, [other.id], 'the current one and repeats count once')
  t.same(JSON.parse(JSON.stringify(rotated)), { current: other.id, previous: [kek.id] }, 'ids only, never the keys')
})

t.test('the KEK is chosen by the id the row names, never by trying each: a row naming another configured KEK does not open', async (t) => {
  const both = new KeyEncryptionKeys(other, [kek])
  const old = new KeyEncryptionKeys(kek).seal(secret, 'kid-1')
  t.throws(
    () => both.open(old.sealed, 'kid-1', other.id),
    new KeyDecryptionError(
      `signing key kid-1 cannot be decrypted with the configured key-encryption key ${other.id}: the wrong key, or the row was altered`,
    ),
  )
})

t.test('a key sealed under a KEK not configured is refused, naming its id and the ones held', async (t) => {
  const third = new KeyEncryptionKey(Buffer.alloc(32, 3))
  const sealed = new KeyEncryptionKeys(third).seal(secret, 'kid-1')
  const remedy =
    'set STS_KEY_ENCRYPTION_KEY (or keys.encryptionKeyFile) to it, or while rotating the key-encryption key, list it in ' +
    'STS_PREVIOUS_KEY_ENCRYPTION_KEYS (or keys.previousEncryptionKeys, keys.previousEncryptionKeyFiles)'
  t.throws(
    () => new KeyEncryptionKeys(other, [kek]).open(sealed.sealed, 'kid-1', third.id),
    new KeyDecryptionError(
      `signing key kid-1 was sealed with the key-encryption key ${third.id}, which is not configured here ` +
        `(the current one is ${other.id}, the previous ones ${kek.id}): ${remedy}`,
    ),
  )
  t.throws(
    () => new KeyEncryptionKeys(other).open(sealed.sealed, 'kid-1', third.id),
    new KeyDecryptionError(
      `signing key kid-1 was sealed with the key-encryption key ${third.id}, which is not configured here ` +
        `(the current one is ${other.id}, with no previous one): ${remedy}`,
    ),
  )
})
