import t from 'tap'
import { derivedSourceHashKey, SourceHasher, sourceHasherFor } from '../../src/tokens/source-hash.js'

// Reference values from OpenSSL, not from this code:
//   echo -n k8s:prod:node:node-a | openssl dgst -sha256 -mac HMAC -macopt hexkey:0909…09 -binary | base64 (url-safe, unpadded)
//   openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt hexkey:0707…07 -kdfopt info:'seed-sts source hash key' HKDF
const KEY = Buffer.alloc(32, 9)

t.test('a source id is hashed as HMAC-SHA-256 under the key, base64url without padding', async (t) => {
  const hasher = new SourceHasher(KEY)
  t.equal(hasher.hash('k8s:prod:node:node-a'), '6ucTwvbb-8s9s5asj2hHeAiDoTf45IgWoJ8Q71pVnMA')
  t.not(
    new SourceHasher(Buffer.alloc(32, 8)).hash('k8s:prod:node:node-a'),
    hasher.hash('k8s:prod:node:node-a'),
    'another key, another hash',
  )
  t.throws(() => new SourceHasher(Buffer.alloc(16)), TypeError)
})

t.test('without a configured key, it is derived from the key-encryption key (HKDF-SHA-256)', async (t) => {
  t.equal(
    derivedSourceHashKey(Buffer.alloc(32, 7)).toString('hex').toUpperCase(),
    'BE53AC9A572FCA345C375BB8BA87D064C9238D14A4192753899995491FEDEF01',
  )
  const configured = sourceHasherFor({ sourceHashKey: KEY.toString('base64'), keyEncryptionKey: undefined, dataDir: 'memory://' })
  t.equal(configured.hash('k8s:prod:node:node-a'), '6ucTwvbb-8s9s5asj2hHeAiDoTf45IgWoJ8Q71pVnMA', 'a configured key is used as is')
  const derived = sourceHasherFor({
    sourceHashKey: undefined,
    keyEncryptionKey: Buffer.alloc(32, 7).toString('base64'),
    dataDir: 'memory://',
  })
  t.equal(derived.hash('k8s:prod'), new SourceHasher(derivedSourceHashKey(Buffer.alloc(32, 7))).hash('k8s:prod'))
})
