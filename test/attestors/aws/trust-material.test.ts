import { X509Certificate } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import t from 'tap'
import { AwsTrustStore } from '../../../src/attestors/aws/trust.js'

// The shipped certificates are trust anchors: each must be what its name says, and documented with its
// fingerprint and where it was checked (keys/aws/README.md), so a reviewer can audit every one.

const KEYS = new URL('../../../keys/aws/', import.meta.url)
const readme = readFileSync(new URL('README.md', KEYS), 'utf8')
const files = readdirSync(KEYS)
  .filter((f) => f.endsWith('.pem'))
  .sort()
const FORM_KEYS: Record<string, { type: string; bits: number }> = {
  'dsa-pkcs7': { type: 'dsa', bits: 1024 },
  'rsa-signature': { type: 'rsa', bits: 1024 },
  rsa2048: { type: 'rsa', bits: 2048 },
}

t.test('every shipped certificate is the key its name says, for a region', async (t) => {
  t.ok(files.length >= 70, `${files.length} certificates`)
  for (const file of files) {
    const match = /^aws-(dsa-pkcs7|rsa-signature|rsa2048)-([a-z]{2}(-gov)?-[a-z]+-[0-9])\.pem$/.exec(file)
    if (!t.ok(match, `${file}: named aws-<form>-<region>.pem`)) continue
    const x509 = new X509Certificate(readFileSync(new URL(file, KEYS)))
    const expected = FORM_KEYS[match![1]]
    t.equal(x509.publicKey.asymmetricKeyType, expected.type, `${file}: ${expected.type}`)
    const details = x509.publicKey.asymmetricKeyDetails!
    t.equal(details.modulusLength, expected.bits, `${file}: ${expected.bits} bits`)
    t.ok(x509.verify(x509.publicKey), `${file}: self-signed, as AWS publishes them`)
  }
  const trust = AwsTrustStore.from(files.map((f) => readFileSync(new URL(f, KEYS), 'utf8')))
  t.equal(trust.certificates.length, files.length, 'the trust store reads each of them')
})

t.test('every shipped certificate is documented with its fingerprint and its second source', async (t) => {
  for (const file of files) {
    const fingerprint = new X509Certificate(readFileSync(new URL(file, KEYS))).fingerprint256
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${file}\` |`))
    if (!t.ok(row, `${file} has a row in keys/aws/README.md`)) continue
    t.ok(row!.includes(fingerprint), `${file}: its SHA-256 fingerprint is in its row`)
    t.match(row!.split('|').at(-2), /\S/, `${file}: its second source is named`)
  }
})
