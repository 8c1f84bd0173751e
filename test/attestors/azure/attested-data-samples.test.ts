import { createHash, X509Certificate, verify } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { AZURE_ATTESTED_DATA_TOKEN_TYPE, decodeAttestedDataToken, verifyAttestedData } from '../../../src/attestors/azure/attested-data.js'
import { createAzureAttestedDataAttestor, loadAzureTrust } from '../../../src/attestors/azure/attestor.js'
import { parseAttestedDataEnvelope } from '../../../src/attestors/azure/pkcs7.js'
import { assertRefused } from '../../support/attestors/jwt-attestations.js'
import {
  azureConfig,
  azureDeps,
  CANDLEPIN,
  EASTUS_2026,
  GOVCLOUD,
  MSDOCS,
  SAMPLES,
  sample,
  tamperContent,
} from '../../support/attestors/azure-attested.js'

// Real attested data published by others, each verified "as of" its own time with the shipped trust
// material (keys/azure/). See test/fixtures/interop/README.md section 5.

const trust = loadAzureTrust(azureConfig())
const der = (file: string): Buffer => decodeAttestedDataToken(sample(file), 16_384)

t.test('the shipped trust material: two roots; the intermediates of the 2021, 2023 and 2026 signers', async (t) => {
  t.same(trust.roots.map((c) => c.label).sort(), ['Baltimore CyberTrust Root', 'DigiCert Global Root G2'])
  t.same(trust.intermediates.map((c) => c.label).sort(), [
    'Microsoft Azure TLS Issuing CA 05',
    'Microsoft RSA TLS CA 01',
    ...['02', '04', '06', '08', '10', '12', '14', '16'].map((n) => `Microsoft TLS G2 RSA CA OCSP ${n}`),
    'Microsoft TLS RSA Root G2',
  ])
  t.equal(AZURE_ATTESTED_DATA_TOKEN_TYPE, 'urn:seed-sts:token-type:azure-attested-data')
})

t.test('candlepin 2021: signature and chain verify, to Baltimore through Microsoft RSA TLS CA 01', async (t) => {
  const verified = verifyAttestedData(der(CANDLEPIN.file), trust, new Date(CANDLEPIN.at))
  t.equal(verified.content.toString('utf8'), sample('candlepin-2021-westeurope.content.json'), 'the exact signed bytes')
  t.same(
    verified.chain.map((c) => c.label),
    ['metadata.azure.com', 'Microsoft RSA TLS CA 01', 'Baltimore CyberTrust Root'],
  )
  t.same(verified.signer.dnsNames, ['westeurope.metadata.azure.com', 'metadata.azure.com'])
  const fromResponse = decodeAttestedDataToken(sample('candlepin-2021-westeurope.attested.json'), 16_384)
  t.same(fromResponse, der(CANDLEPIN.file), 'the IMDS response JSON and its bare signature decode alike')
})

t.test('candlepin 2021 is refused by the attestor: no subscriptionId in that api-version', async (t) => {
  const attestor = createAzureAttestedDataAttestor(azureConfig(), azureDeps(CANDLEPIN.at))
  t.match(attestor, { name: 'azure', kind: 'azure' })
  for (const token of [sample('candlepin-2021-westeurope.attested.json'), sample(CANDLEPIN.file)]) {
    await assertRefused(
      t,
      attestor.attest(token),
      'claim_missing',
      /^the attested data has no subscriptionId, so its subscription cannot be checked; request it with api-version=2019-04-30 or newer$/,
    )
  }
})

t.test('coder 2023 govcloud: accepted as of its time, to DigiCert Global Root G2 through Azure TLS Issuing CA 05', async (t) => {
  const attestor = createAzureAttestedDataAttestor(azureConfig(), azureDeps(GOVCLOUD.at))
  t.same(await attestor.attest(sample(GOVCLOUD.file)), {
    subject: `spiffe://example.org/azure/${GOVCLOUD.subscriptionId}/vm/${GOVCLOUD.vmId}`,
    attestor: 'azure',
    kind: 'azure',
    claims: { subscriptionId: GOVCLOUD.subscriptionId, vmId: GOVCLOUD.vmId, sku: '18.04-LTS', nonce: '20230308-230933' },
    sources: [{ id: `azure:${GOVCLOUD.subscriptionId}` }, { id: `azure:${GOVCLOUD.subscriptionId}:vm:${GOVCLOUD.vmId}` }],
    expiresAt: new Date(GOVCLOUD.expiresOn),
    fingerprint: createHash('sha256').update(sample('coder-2023-govcloud.content.json')).digest('base64url'),
    singleUse: {
      key: `azure:${GOVCLOUD.subscriptionId}:vm:${GOVCLOUD.vmId}|sha256:${createHash('sha256').update(sample('coder-2023-govcloud.content.json')).digest('base64url')}`,
      until: new Date(Date.parse(GOVCLOUD.expiresOn) + 60_000),
    },
  })
  const reusable = createAzureAttestedDataAttestor(azureConfig({ singleUse: false }), azureDeps(GOVCLOUD.at))
  t.notOk('singleUse' in (await reusable.attest(sample(GOVCLOUD.file))), 'singleUse: false leaves it out')
  const verified = verifyAttestedData(der(GOVCLOUD.file), trust, new Date(GOVCLOUD.at))
  t.same(
    verified.chain.map((c) => c.label),
    ['metadata.azure.us', 'Microsoft Azure TLS Issuing CA 05', 'DigiCert Global Root G2'],
  )
  const json = JSON.stringify({ encoding: 'pkcs7', signature: sample(GOVCLOUD.file).trim() })
  const fromJson = await attestor.attest(json)
  t.equal(
    fromJson.subject,
    `spiffe://example.org/azure/${GOVCLOUD.subscriptionId}/vm/${GOVCLOUD.vmId}`,
    'the IMDS response JSON is accepted too',
  )
  // The envelope's outer digestAlgorithms list is covered by no signature: changing it makes another
  // envelope around the same attested data, which must not pass for a new attestation.
  const rewrapped = der(GOVCLOUD.file)
  rewrapped[rewrapped.indexOf(Buffer.from('06092a864886f70d01010b', 'hex')) + 10] = 0x05
  const copy = await attestor.attest(rewrapped.toString('base64'))
  t.not(rewrapped.toString('base64'), sample(GOVCLOUD.file).trim())
  t.equal(copy.singleUse?.key, fromJson.singleUse?.key, 'a re-wrapped copy has the same single-use key')
  t.equal(copy.fingerprint, fromJson.fingerprint, 'and the same fingerprint in the ledger')
})

t.test('a subscription or VM not allowed is refused, naming it', async (t) => {
  const other = createAzureAttestedDataAttestor(azureConfig({ subscriptions: [EASTUS_2026.subscriptionId] }), azureDeps(GOVCLOUD.at))
  await assertRefused(
    t,
    other.attest(sample(GOVCLOUD.file)),
    'claim_not_allowed',
    /^subscription "0afbfffa-5df9-4a3b-987e-fe7577624272" is not allowed by attestor azure$/,
  )
  const pinned = createAzureAttestedDataAttestor(azureConfig({ vms: ['11111111-2222-3333-4444-555555555555'] }), azureDeps(GOVCLOUD.at))
  await assertRefused(
    t,
    pinned.attest(sample(GOVCLOUD.file)),
    'claim_not_allowed',
    /^VM "990878d4-068a-4ac4-9ee9-1231d2218ef2" of subscription "0afbfffa-5df9-4a3b-987e-fe7577624272" is not allowed by attestor azure$/,
  )
  const upper = createAzureAttestedDataAttestor(
    azureConfig({ subscriptions: [GOVCLOUD.subscriptionId.toUpperCase()], vms: [GOVCLOUD.vmId.toUpperCase()] }),
    azureDeps(GOVCLOUD.at),
  )
  t.ok(await upper.attest(sample(GOVCLOUD.file)), 'allow-lists compare GUIDs case-insensitively')
})

t.test('expired attested data is refused; the clock skew is allowed', async (t) => {
  const expiresOn = Date.parse(GOVCLOUD.expiresOn)
  const justInSkew = createAzureAttestedDataAttestor(azureConfig(), azureDeps(expiresOn + 59_000))
  t.ok(await justInSkew.attest(sample(GOVCLOUD.file)), 'accepted 59 s after expiresOn with 60 s of skew')
  const late = createAzureAttestedDataAttestor(azureConfig(), azureDeps(expiresOn + 60_000))
  await assertRefused(
    t,
    late.attest(sample(GOVCLOUD.file)),
    'token_expired',
    /^the attested data expired at 2023-03-08T23:09:33.000Z; fetch it again from IMDS$/,
  )
  const early = createAzureAttestedDataAttestor(azureConfig(), azureDeps(Date.parse('2023-03-08T17:09:33Z') - 61_000))
  await assertRefused(
    t,
    early.attest(sample(GOVCLOUD.file)),
    'token_not_yet_valid',
    /^the attested data was created in the future \(2023-03-08T17:09:33.000Z\)$/,
  )
  const signerExpired = createAzureAttestedDataAttestor(azureConfig(), azureDeps('2024-02-01T00:00:00Z'))
  await assertRefused(
    t,
    signerExpired.attest(sample(GOVCLOUD.file)),
    'certificate_expired',
    /^the signer certificate "metadata.azure.us" expired at 2024-01-29T19:01:18.000Z$/,
  )
})

t.test('a tampered sample is refused: a valid chain does not make a bad signature good (coder/coder #25303)', async (t) => {
  const attestor = createAzureAttestedDataAttestor(azureConfig(), azureDeps(GOVCLOUD.at))
  await assertRefused(
    t,
    attestor.attest(tamperContent(sample(GOVCLOUD.file))),
    'signature_invalid',
    /^the attested data signature is invalid$/,
  )
  t.throws(
    () => verifyAttestedData(decodeAttestedDataToken(tamperContent(sample(CANDLEPIN.file)), 16_384), trust, new Date(CANDLEPIN.at)),
    {
      name: 'InvalidGrantError',
      message: 'the attested data signature is invalid',
    },
  )
  const flipped = der(GOVCLOUD.file)
  flipped[flipped.length - 1] ^= 0x01
  await assertRefused(t, attestor.attest(flipped.toString('base64')), 'signature_invalid', /^the attested data signature is invalid$/)
})

t.test('coder 2026 eastus: through OCSP 02 and the cross-signed Microsoft TLS RSA Root G2 to DigiCert Global Root G2', async (t) => {
  const verified = verifyAttestedData(der(EASTUS_2026.file), trust, new Date(EASTUS_2026.at))
  t.equal(verified.content.toString('utf8'), sample('coder-2026-eastus.content.json'), 'the exact signed bytes')
  t.same(
    verified.chain.map((c) => c.label),
    ['metadata.azure.com', 'Microsoft TLS G2 RSA CA OCSP 02', 'Microsoft TLS RSA Root G2', 'DigiCert Global Root G2'],
  )
  const attestor = createAzureAttestedDataAttestor(azureConfig({ subscriptions: [EASTUS_2026.subscriptionId] }), azureDeps(EASTUS_2026.at))
  t.match(await attestor.attest(sample(EASTUS_2026.file)), {
    subject: `spiffe://example.org/azure/${EASTUS_2026.subscriptionId}/vm/dc18de58-292f-4794-9a5d-a4192bad0039`,
    claims: { subscriptionId: EASTUS_2026.subscriptionId, vmId: 'dc18de58-292f-4794-9a5d-a4192bad0039', sku: '20_04-lts-gen2' },
  })
  await assertRefused(
    t,
    attestor.attest(tamperContent(sample(EASTUS_2026.file))),
    'signature_invalid',
    /^the attested data signature is invalid$/,
  )
})

t.test('coder 2026 eastus without its intermediates: the refusal names the CA to add', async (t) => {
  const envelope = parseAttestedDataEnvelope(der(EASTUS_2026.file))
  t.ok(verify('sha256', envelope.content, envelope.signer.x509.publicKey, envelope.signature), 'the signature itself is good')
  const oldIntermediates = fileURLToPath(new URL('intermediates/', SAMPLES))
  const attestor = createAzureAttestedDataAttestor(
    azureConfig({ subscriptions: [EASTUS_2026.subscriptionId], intermediates: [oldIntermediates] }),
    azureDeps(EASTUS_2026.at),
  )
  await assertRefused(
    t,
    attestor.attest(sample(EASTUS_2026.file)),
    'certificate_untrusted',
    /^the signer certificate was issued by "Microsoft TLS G2 RSA CA OCSP 02", which is not a configured intermediate \(add that CA certificate to intermediates; see keys\/azure\/README.md\)$/,
  )
})

t.test('the Microsoft docs sample: a good signature by a self-signed test certificate is refused', async (t) => {
  const envelope = parseAttestedDataEnvelope(der(MSDOCS.file))
  t.ok(verify('sha256', envelope.content, envelope.signer.x509.publicKey, envelope.signature), 'the signature itself is good')
  t.ok(envelope.signer.x509.checkIssued(new X509Certificate(envelope.signer.x509.raw)), 'its signer is self-signed')
  const attestor = createAzureAttestedDataAttestor(azureConfig(), azureDeps(MSDOCS.at))
  await assertRefused(
    t,
    attestor.attest(sample(MSDOCS.file)),
    'certificate_untrusted',
    /^the signer certificate "testsubdomain.metadata.azure.com" is self-signed, not issued by a configured Microsoft CA$/,
  )
})

t.test('Government names are accepted by default and can be left out', async (t) => {
  const publicOnly = createAzureAttestedDataAttestor(
    azureConfig({ signerNames: ['metadata.azure.com', '*.metadata.azure.com'] }),
    azureDeps(GOVCLOUD.at),
  )
  await assertRefused(
    t,
    publicOnly.attest(sample(GOVCLOUD.file)),
    'certificate_untrusted',
    /^the attested data signer "usgovvirginia.metadata.azure.us, metadata.azure.us" is not one of metadata.azure.com, \*.metadata.azure.com$/,
  )
})
