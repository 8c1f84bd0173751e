import t from 'tap'
import { decodeAttestedDataToken, verifyAttestedData } from '../../../src/attestors/azure/attested-data.js'
import { createAzureAttestedDataAttestor, loadAzureTrust } from '../../../src/attestors/azure/attestor.js'
import { assertRefused } from '../../support/attestors/jwt-attestations.js'
import { attestedDocument, azureConfig, azureDeps, GOVCLOUD, tamperContent } from '../../support/attestors/azure-attested.js'
import {
  CA_EXTENSIONS,
  createTestPki,
  INTERMEDIATE_EXTENSIONS,
  signerExtensions,
  type Issued,
} from '../../support/attestors/openssl-pki.js'

// Chain cases no real sample covers, with a CA of our own: root -> "Test Issuing CA" -> metadata.azure.com.

const pki = createTestPki()
t.teardown(() => pki.cleanup())
const HOUR = 3600_000
const DAY = 24 * HOUR
const now = pki.createdAt + HOUR

const root = pki.ca('Test Root', { days: 3650 })
const intermediate = pki.issue('Test Issuing CA', root, { extensions: INTERMEDIATE_EXTENSIONS, days: 365 })
const signer = pki.issue('signer', intermediate, {
  subject: '/CN=metadata.azure.com',
  extensions: signerExtensions('eastus.metadata.azure.com', 'metadata.azure.com'),
})
/** Signers share one key: what these tests vary is who issued the certificate and what it says. */
const metadataSigner = (
  name: string,
  issuer: Issued,
  extensions = signerExtensions('eastus.metadata.azure.com', 'metadata.azure.com'),
  bits = 2048,
): Issued => pki.issue(name, issuer, { subject: '/CN=metadata.azure.com', extensions, bits, key: bits === 2048 ? signer.key : undefined })

const config = azureConfig({ roots: [root.pem], intermediates: [intermediate.pem] })
const attestor = createAzureAttestedDataAttestor(config, azureDeps(now))
const document = attestedDocument({}, now - HOUR)
const attestWith = (by: Issued, options: { at?: number; intermediates?: string[]; content?: string } = {}): Promise<unknown> => {
  const chosen =
    options.intermediates === undefined && options.at === undefined
      ? attestor
      : createAzureAttestedDataAttestor(
          azureConfig({ roots: [root.pem], intermediates: options.intermediates ?? [intermediate.pem] }),
          azureDeps(options.at ?? now),
        )
  return chosen.attest(pki.sign(options.content ?? document, by))
}

t.test('our own chain, standard CMS algorithm OIDs: accepted', async (t) => {
  t.match(await attestWith(signer), {
    subject: `spiffe://example.org/azure/${GOVCLOUD.subscriptionId}/vm/11111111-2222-3333-4444-555555555555`,
    attestor: 'azure',
    kind: 'azure',
    claims: {
      subscriptionId: GOVCLOUD.subscriptionId,
      vmId: '11111111-2222-3333-4444-555555555555',
      sku: '22_04-lts-gen2',
      nonce: '20250615-162640',
    },
    sources: [
      { id: `azure:${GOVCLOUD.subscriptionId}` },
      { id: `azure:${GOVCLOUD.subscriptionId}:vm:11111111-2222-3333-4444-555555555555` },
    ],
    expiresAt: new Date(now - HOUR + 6 * HOUR - ((now - HOUR) % 1000)),
    singleUse: { key: String, until: new Date(now - HOUR + 6 * HOUR - ((now - HOUR) % 1000) + 60_000) },
  })
  const verified = verifyAttestedData(decodeAttestedDataToken(pki.sign(document, signer), 16_384), loadAzureTrust(config), new Date(now))
  t.same(
    verified.chain.map((c) => c.label),
    ['metadata.azure.com', 'Test Issuing CA', 'Test Root'],
  )
})

t.test('a valid chain with a bad signature is refused', async (t) => {
  await assertRefused(
    t,
    attestor.attest(tamperContent(pki.sign(document, signer))),
    'signature_invalid',
    /^the attested data signature is invalid$/,
  )
})

t.test('a good signature with an untrusted chain is refused', async (t) => {
  const rogueCa = pki.ca('Rogue CA')
  await assertRefused(
    t,
    attestWith(metadataSigner('rogue-signer', rogueCa)),
    'certificate_untrusted',
    /^the signer certificate was issued by "Rogue CA", which is not a configured intermediate/,
  )
  const selfSigned = pki.issue('self-signed', null, {
    subject: '/CN=metadata.azure.com',
    extensions: signerExtensions('metadata.azure.com'),
    key: signer.key,
  })
  await assertRefused(
    t,
    attestWith(selfSigned),
    'certificate_untrusted',
    /^the signer certificate "metadata.azure.com" is self-signed, not issued by a configured Microsoft CA$/,
  )
  await assertRefused(
    t,
    attestWith(metadataSigner('root-issued', root)),
    'certificate_untrusted',
    /^the signer certificate was issued by "Test Root", which is not a configured intermediate/,
  )
})

t.test('a signer not issued by the configured intermediate, though it names it, is refused', async (t) => {
  // Same subject as the configured intermediate, another key: only the link's signature tells them apart.
  const impostor = pki.issue('impostor', root, { subject: '/CN=Test Issuing CA', extensions: INTERMEDIATE_EXTENSIONS })
  const noKeyId = [
    ...signerExtensions('metadata.azure.com').filter((line) => !line.startsWith('authorityKeyIdentifier')),
    'authorityKeyIdentifier = none',
  ]
  await assertRefused(
    t,
    attestWith(metadataSigner('impostor-signer', impostor, noKeyId)),
    'certificate_untrusted',
    /^the signature of "metadata.azure.com" does not verify with the key of intermediate "Test Issuing CA"$/,
  )
  await assertRefused(
    t,
    attestWith(metadataSigner('impostor-signer-2', impostor)),
    'certificate_untrusted',
    /^the signer certificate was issued by "Test Issuing CA", which is not a configured intermediate/,
  )
})

t.test('an expired or not yet valid certificate anywhere in the chain is refused', async (t) => {
  const shortLived = pki.issue('Short CA', root, { extensions: INTERMEDIATE_EXTENSIONS, days: 1 })
  const signed = metadataSigner('short-signer', shortLived)
  await assertRefused(
    t,
    attestWith(signed, { at: now + 2 * DAY, intermediates: [shortLived.pem], content: attestedDocument({}, now + 2 * DAY) }),
    'certificate_expired',
    /^intermediate "Short CA" expired at \d{4}-.*Z$/,
  )
  t.ok(await attestWith(signed, { intermediates: [shortLived.pem] }), 'the same chain is fine the day it was made')
  await assertRefused(
    t,
    attestWith(signer, { at: pki.createdAt - DAY, content: attestedDocument({}, pki.createdAt - DAY) }),
    'certificate_not_yet_valid',
    /^the signer certificate "metadata.azure.com" is not valid before/,
  )
})

t.test('an intermediate that is not a CA cannot issue the signer', async (t) => {
  const notCa = pki.issue('Not A CA', root, {
    extensions: ['basicConstraints = critical,CA:FALSE', 'keyUsage = critical,digitalSignature,keyCertSign', 'subjectKeyIdentifier = hash'],
  })
  await assertRefused(
    t,
    attestWith(metadataSigner('not-ca-signer', notCa), { intermediates: [notCa.pem] }),
    'certificate_untrusted',
    /^intermediate "Not A CA" is not a CA certificate \(basic constraints\), so it cannot issue certificates$/,
  )
  const bare = pki.issue('Bare CA', root, { extensions: ['subjectKeyIdentifier = hash'] })
  await assertRefused(
    t,
    attestWith(metadataSigner('bare-signer', bare), { intermediates: [bare.pem] }),
    'certificate_untrusted',
    /^intermediate "Bare CA" is not a CA certificate/,
  )
  const noCertSign = pki.issue('No CertSign CA', root, {
    extensions: ['basicConstraints = critical,CA:TRUE', 'keyUsage = critical,digitalSignature', 'subjectKeyIdentifier = hash'],
  })
  await assertRefused(
    t,
    attestWith(metadataSigner('no-certsign-signer', noCertSign), { intermediates: [noCertSign.pem] }),
    'certificate_untrusted',
    /^the signer certificate was issued by "No CertSign CA", which is not a configured intermediate/,
  )
})

t.test('path length constraints and unknown roots are enforced above the first intermediate', async (t) => {
  const sub = pki.issue('Sub CA', intermediate, { extensions: INTERMEDIATE_EXTENSIONS })
  await assertRefused(
    t,
    attestWith(metadataSigner('sub-signer', sub), { intermediates: [intermediate.pem, sub.pem] }),
    'certificate_untrusted',
    /^intermediate "Test Issuing CA" allows 0 intermediates below it, but the chain has 1$/,
  )
  const policy = pki.issue('Policy CA', root, { extensions: CA_EXTENSIONS })
  const issuing = pki.issue('Issuing CA 2', policy, { extensions: INTERMEDIATE_EXTENSIONS })
  t.ok(
    await attestWith(metadataSigner('two-level-signer', issuing), { intermediates: [policy.pem, issuing.pem] }),
    'two intermediates without a path length limit',
  )
  await assertRefused(
    t,
    attestWith(metadataSigner('two-level-signer-2', issuing), { intermediates: [issuing.pem] }),
    'certificate_untrusted',
    /^intermediate "Issuing CA 2" was issued by "Policy CA", which is not a configured root$/,
  )
})

t.test('the signer must be named metadata.azure.com or one label below it', async (t) => {
  const named = (file: string, ...names: string[]): Issued =>
    pki.issue(file, intermediate, {
      subject: `/CN=${names[0] ?? 'metadata.azure.com'}`,
      extensions: signerExtensions(...names),
      key: signer.key,
    })
  await assertRefused(
    t,
    attestWith(named('attacker', 'attacker.example')),
    'certificate_untrusted',
    /^the attested data signer "attacker.example" is not one of metadata.azure.com, \*.metadata.azure.com, metadata.azure.us/,
  )
  await assertRefused(
    t,
    attestWith(named('deep', 'a.b.metadata.azure.com')),
    'certificate_untrusted',
    /^the attested data signer "a.b.metadata.azure.com" is not one of/,
  )
  await assertRefused(t, attestWith(named('suffix', 'metadata.azure.com.evil.test')), 'certificate_untrusted', /is not one of/)
  await assertRefused(t, attestWith(named('lookalike', 'xmetadata.azure.com')), 'certificate_untrusted', /is not one of/)
  t.ok(await attestWith(named('regional', 'westeurope.metadata.azure.com')), 'one label below is accepted')
  const cnOnly = pki.issue('cn-only', intermediate, {
    subject: '/CN=metadata.azure.com',
    extensions: ['basicConstraints = critical,CA:FALSE', 'authorityKeyIdentifier = keyid'],
    key: signer.key,
  })
  t.ok(await attestWith(cnOnly), 'without a SAN the CN is the name')
  const sanWins = pki.issue('san-wins', intermediate, {
    subject: '/CN=metadata.azure.com',
    extensions: signerExtensions('attacker.example'),
    key: signer.key,
  })
  await assertRefused(t, attestWith(sanWins), 'certificate_untrusted', /^the attested data signer "attacker.example" is not one of/)
})

t.test('what Azure never sends is refused: signed attributes, short keys, unknown critical extensions', async (t) => {
  await assertRefused(
    t,
    attestor.attest(pki.sign(document, signer, { signedAttributes: true })),
    'attestation_malformed',
    /^the attested data envelope has signed attributes, which Azure never sends$/,
  )
  await assertRefused(
    t,
    attestWith(metadataSigner('short-key', intermediate, undefined, 1024)),
    'algorithm_not_accepted',
    /^the attested data signer key is shorter than 2048 bits$/,
  )
  const critical = metadataSigner('critical', intermediate, [
    ...signerExtensions('metadata.azure.com'),
    '1.3.6.1.4.1.99999.1 = critical,ASN1:NULL',
  ])
  await assertRefused(
    t,
    attestWith(critical),
    'certificate_untrusted',
    /^the signer certificate "metadata.azure.com" has critical extensions this service does not process \(1.3.6.1.4.1.99999.1\)$/,
  )
})
