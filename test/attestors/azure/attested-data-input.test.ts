import { readFileSync } from 'node:fs'
import t from 'tap'
import { createAzureAttestedDataAttestor } from '../../../src/attestors/azure/attestor.js'
import { parseAzureTimestamp } from '../../../src/attestors/azure/document.js'
import { InvalidGrantError, type ErrorReason } from '../../../src/errors.js'
import { assertRefused } from '../../support/attestors/jwt-attestations.js'
import { attestedDocument, azureConfig, azureDeps, GOVCLOUD, imdsTime, sample } from '../../support/attestors/azure-attested.js'
import { createTestPki, INTERMEDIATE_EXTENSIONS, signerExtensions } from '../../support/attestors/openssl-pki.js'

// Malformed subject tokens and malformed (but validly signed) attested data: always invalid_grant.

const pki = createTestPki()
t.teardown(() => pki.cleanup())
const root = pki.ca('Test Root', { days: 3650 })
const intermediate = pki.issue('Test Issuing CA', root, { extensions: INTERMEDIATE_EXTENSIONS })
const signer = pki.issue('signer', intermediate, { subject: '/CN=metadata.azure.com', extensions: signerExtensions('metadata.azure.com') })
const now = pki.createdAt + 3600_000
const attestor = createAzureAttestedDataAttestor(azureConfig({ roots: [root.pem], intermediates: [intermediate.pem] }), azureDeps(now))
const signed = (content: string | Record<string, unknown>): Promise<unknown> =>
  attestor.attest(pki.sign(typeof content === 'string' ? content : attestedDocument(content, now - 60_000), signer))

t.test('subject tokens that are not attested data', async (t) => {
  const govcloud = sample(GOVCLOUD.file).trim()
  const der = Buffer.from(govcloud, 'base64')
  const cases: [string, RegExp, ErrorReason?][] = [
    ['', /^the attestation is empty$/],
    ['  \n ', /^the attestation is empty$/],
    ['A'.repeat(16_385), /^the attestation is larger than 16384 bytes$/, 'attestation_too_large'],
    ['{"encoding":"pkcs7",', /^the attestation looks like JSON but is not valid JSON$/],
    ['{}', /^the attested data encoding is \(none\), not "pkcs7"$/],
    ['{"encoding":"json","signature":"AAAA"}', /^the attested data encoding is "json", not "pkcs7"$/],
    ['{"encoding":"pkcs7","signature":42}', /^the attested data is neither the IMDS response JSON nor the base64 of its "signature"$/],
    ['{"encoding":"pkcs7"}', /neither the IMDS response JSON nor the base64/],
    ['["pkcs7"]', /neither the IMDS response JSON nor the base64/],
    ['eyJhbGciOiJSUzI1NiJ9.e30.c2ln', /neither the IMDS response JSON nor the base64/],
    ['AAA', /neither the IMDS response JSON nor the base64/],
    ['AAAA', /^the attested data is not a PKCS#7 SignedData envelope$/],
    [Buffer.from('{"vmId":"x"}').toString('base64'), /^the attested data is not a PKCS#7 envelope \(not valid DER\)$/],
    [der.subarray(0, der.length - 10).toString('base64'), /^the attested data is not a PKCS#7 envelope \(not valid DER\)$/],
    [Buffer.concat([der, Buffer.from([0, 0])]).toString('base64'), /^the attested data envelope is followed by unexpected bytes$/],
    [Buffer.from(pemBody(intermediate.pem), 'base64').toString('base64'), /^the attested data is not a PKCS#7 SignedData envelope$/],
    [Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]).toString('base64'), /^the attested data is not a PKCS#7 SignedData envelope$/],
  ]
  for (const [token, expected, reason = 'attestation_malformed'] of cases) await assertRefused(t, attestor.attest(token), reason, expected)
  const wrapped = govcloud.replace(/(.{64})/g, '$1\n')
  const atItsTime = createAzureAttestedDataAttestor(azureConfig(), azureDeps(GOVCLOUD.at))
  t.ok(await atItsTime.attest(wrapped), 'base64 wrapped over several lines is accepted')
})

t.test('any single corrupted byte of a real envelope: refused, or the very same identity; never a crash', async (t) => {
  const der = Buffer.from(sample(GOVCLOUD.file).trim(), 'base64')
  const atItsTime = createAzureAttestedDataAttestor(azureConfig(), azureDeps(GOVCLOUD.at))
  const genuine = JSON.stringify(await atItsTime.attest(der.toString('base64')))
  const outcomes = { refused: 0, same: 0 }
  // Every fourth byte, a different bit each time (every byte takes half a minute: worth a run when changing the parser).
  for (let i = 0; i < der.length; i += 4) {
    const corrupt = Buffer.from(der)
    corrupt[i] ^= 1 << ((i / 4) % 8)
    try {
      const identity = await atItsTime.attest(corrupt.toString('base64'))
      // Bytes no signature covers (the outer digestAlgorithms list, a version): the same data, the same answer.
      if (JSON.stringify(identity) !== genuine) t.fail(`byte ${i}: accepted with another identity`)
      outcomes.same++
    } catch (error) {
      if (!(error instanceof InvalidGrantError)) t.fail(`byte ${i}: ${(error as Error).name}: ${(error as Error).message}`)
      outcomes.refused++
    }
  }
  t.ok(outcomes.refused > outcomes.same * 20, `${outcomes.refused} refused, ${outcomes.same} unchanged`)
})

t.test('envelopes Azure never produces', async (t) => {
  const other = pki.issue('other', intermediate, {
    subject: '/CN=metadata.azure.com',
    extensions: signerExtensions('metadata.azure.com'),
    key: signer.key,
  })
  await assertRefused(t, attestor.attest(signTwice(other)), 'attestation_malformed', /^the attested data envelope has 2 signers, not one$/)
  await assertRefused(
    t,
    attestor.attest(signWithoutCertificate()),
    'attestation_malformed',
    /^the attested data envelope does not embed the certificate that signed it$/,
  )
})

t.test('attested data that is not what IMDS writes is refused, even validly signed', async (t) => {
  await assertRefused(t, signed('not json'), 'attestation_malformed', /^the attested data is not valid JSON$/)
  await assertRefused(t, signed('["a"]'), 'attestation_malformed', /^the attested data is not a JSON object$/)
  await assertRefused(t, signed({ vmId: '' }), 'claim_missing', /^the attested data has no "vmId"$/)
  await assertRefused(t, signed({ vmId: '../../etc' }), 'claim_invalid', /^the attested data "vmId" "..\/..\/etc" is not a GUID$/)
  await assertRefused(t, signed({ subscriptionId: 7 }), 'claim_invalid', /^the attested data "subscriptionId" \(a number\) is not a GUID$/)
  await assertRefused(
    t,
    signed({ timeStamp: undefined }),
    'claim_missing',
    /^the attested data has no "timeStamp", so its freshness cannot be checked$/,
  )
  await assertRefused(
    t,
    signed({ timeStamp: { createdOn: imdsTime(now), expiresOn: '2026-11-23T10:00:00Z' } }),
    'claim_invalid',
    /^the attested data "timeStamp.expiresOn" "2026-11-23T10:00:00Z" is not a time like "06\/25\/26 18:56:45 -0000"$/,
  )
  await assertRefused(
    t,
    signed({ timeStamp: { expiresOn: imdsTime(now) } }),
    'claim_invalid',
    /^the attested data "timeStamp.createdOn" \(none\) is not a time like/,
  )
  await assertRefused(
    t,
    signed({ sku: 'a\nb' }),
    'claim_invalid',
    /^the attested data "sku" "a\\nb" is not printable text of at most 128 characters$/,
  )
  await assertRefused(
    t,
    signed({ nonce: 'n'.repeat(129) }),
    'claim_invalid',
    /^the attested data "nonce" "n{64}…" \(129 characters\) is not printable text of at most 128 characters$/,
  )
  await assertRefused(t, signed({ plan: 'marketplace' }), 'claim_invalid', /^the attested data "plan" is not an object$/)
  await assertRefused(
    t,
    signed({ plan: { name: ['x'] } }),
    'claim_invalid',
    /^the attested data "plan.name" \(a list\) is not printable text/,
  )
  await assertRefused(t, signed({ subscriptionId: undefined }), 'claim_missing', /^the attested data has no subscriptionId/)
})

t.test('claims: GUIDs lowercased, empty fields left out, plan fields kept', async (t) => {
  const identity = (await signed({
    subscriptionId: GOVCLOUD.subscriptionId.toUpperCase(),
    vmId: 'AAAAAAAA-2222-3333-4444-555555555555',
    licenseType: 'Windows_Server',
    nonce: '',
    plan: { name: 'plan-a', product: 'product-b', publisher: 'publisher-c' },
  })) as { subject: string; claims: Record<string, string> }
  t.equal(identity.subject, `spiffe://example.org/azure/${GOVCLOUD.subscriptionId}/vm/aaaaaaaa-2222-3333-4444-555555555555`)
  t.same(identity.claims, {
    subscriptionId: GOVCLOUD.subscriptionId,
    vmId: 'aaaaaaaa-2222-3333-4444-555555555555',
    sku: '22_04-lts-gen2',
    licenseType: 'Windows_Server',
    planName: 'plan-a',
    planProduct: 'product-b',
    planPublisher: 'publisher-c',
  })
})

t.test('IMDS timestamps: MM/DD/YY HH:MM:SS with an offset', async (t) => {
  t.same(parseAzureTimestamp('06/25/26 18:56:45 -0000', 'x'), new Date('2026-06-25T18:56:45Z'))
  t.same(parseAzureTimestamp('06/25/26 18:56:45 +0130', 'x'), new Date('2026-06-25T17:26:45Z'))
  t.same(parseAzureTimestamp('01/04/21 13:55:34 -0500', 'x'), new Date('2021-01-04T18:55:34Z'))
  for (const bad of [
    '02/30/23 00:00:00 -0000',
    '13/01/23 00:00:00 -0000',
    '01/01/23 24:00:00 -0000',
    '01/01/23 00:60:00 -0000',
    '1/1/23 00:00:00 -0000',
    '01/01/2023 00:00:00 -0000',
    '01/01/23 00:00:00',
    1_700_000_000,
  ]) {
    t.throws(() => parseAzureTimestamp(bad, 'timeStamp.expiresOn'), InvalidGrantError, String(bad))
  }
})

function pemBody(pemFile: string): string {
  return readFileSync(pemFile, 'utf8')
    .replace(/-----[^-]+-----/g, '')
    .replace(/\s+/g, '')
}

function signTwice(second: { pem: string; key: string }): string {
  return pki.signWith(attestedDocument({}, now - 60_000), [
    '-signer',
    signer.pem,
    '-inkey',
    signer.key,
    '-signer',
    second.pem,
    '-inkey',
    second.key,
    '-noattr',
  ])
}

function signWithoutCertificate(): string {
  return pki.signWith(attestedDocument({}, now - 60_000), ['-signer', signer.pem, '-inkey', signer.key, '-noattr', '-nocerts'])
}
