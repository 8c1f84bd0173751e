import t from 'tap'
import { createInstanceIdentityVerifier } from '../../../src/attestors/aws/instance-identity.js'
import { parseAwsSubjectToken } from '../../../src/attestors/aws/subject-token.js'
import type { FixedClock } from '../../../src/lib/clock.js'
import { assertRefused } from '../../support/attestors/jwt-attestations.js'
import { asOf, base64Of, derOf, flipBit, replaceBytes, sample, shippedPem, token } from '../../support/attestors/aws-iid.js'

/**
 * Real instance identity documents published by others (see the interop README, section 1), verified
 * with the certificates we ship, each as of its own time. An AWS attestor that accepts only documents
 * we signed ourselves proves nothing about AWS.
 */

const DSA_US = shippedPem('aws-dsa-pkcs7-us-east-1.pem')
const DSA_AP = shippedPem('aws-dsa-pkcs7-ap-southeast-2.pem')
const RSA_US = shippedPem('aws-rsa-signature-us-east-1.pem')
const RSA_AP = shippedPem('aws-rsa-signature-ap-southeast-2.pem')
const RSA2048_US = shippedPem('aws-rsa2048-us-east-1.pem')
const RSA2048_AP = shippedPem('aws-rsa2048-ap-southeast-2.pem')
const ALL = [DSA_US, DSA_AP, RSA_US, RSA_AP, RSA2048_US, RSA2048_AP]

function verify(subjectToken: string, clock: FixedClock, certificates: string[] = ALL) {
  return createInstanceIdentityVerifier({ certificates, clock }).verify(parseAwsSubjectToken(subjectToken, 16_384))
}
/** As a promise, for assertRefused. */
async function attempt(subjectToken: string, clock: FixedClock, certificates: string[] = ALL) {
  return verify(subjectToken, clock, certificates)
}

const PKCS7_SAMPLES = [
  {
    file: 'mozilla-2016-us-east-1.pkcs7.pem',
    content: 'mozilla-2016-us-east-1.content.json',
    signed: '2016-04-08T03:01:44Z',
    accountId: '121659014334',
    instanceId: 'i-f79fe56c',
    region: 'us-east-1',
    zone: 'us-east-1a',
  },
  {
    file: 'vault-2016-us-east-1.pkcs7.b64',
    content: 'vault-2016-us-east-1.content.json',
    signed: '2016-04-05T16:27:00Z',
    accountId: '241656615859',
    instanceId: 'i-de0f1344',
    region: 'us-east-1',
    zone: 'us-east-1c',
  },
  {
    file: 'ncbi-2019-us-east-1.pkcs7.b64',
    content: 'ncbi-2019-us-east-1.content.json',
    signed: '2019-06-25T16:52:28Z',
    accountId: '250813660784',
    instanceId: 'i-06a91ac746b572ef4',
    region: 'us-east-1',
    zone: 'us-east-1a',
  },
]

for (const s of PKCS7_SAMPLES) {
  t.test(`pkcs7 (DSA-SHA1, BER, no certificates): ${s.file}, one minute after it was signed`, async (t) => {
    const clock = asOf(s.signed)
    clock.advance(60_000)
    const verified = verify(JSON.stringify({ pkcs7: sample(s.file).replace(/-----[A-Z0-9 ]+-----/g, '') }), clock)
    t.match(verified.document, { accountId: s.accountId, instanceId: s.instanceId, region: s.region, availabilityZone: s.zone })
    t.equal(verified.form, 'pkcs7')
    t.equal(verified.signedBytes.toString('utf8'), sample(s.content), 'the verified bytes are the eContent, byte for byte')
    t.equal(verified.certificate.serialNumber, '96BA48D9E55E1A67')
    t.same(verified.signingTime, new Date(s.signed))
    t.equal(
      verify(token.pkcs7(derOf(s.file)), clock, [s.region === 'us-east-1' ? DSA_US : DSA_AP]).document.instanceId,
      s.instanceId,
      'with its own region certificate alone',
    )
  })
}

t.test('vault-2016: every field of the document', async (t) => {
  const { document } = verify(token.pkcs7(derOf('vault-2016-us-east-1.pkcs7.b64')), asOf('2016-04-05T16:28:00Z'))
  t.same(document, {
    accountId: '241656615859',
    instanceId: 'i-de0f1344',
    region: 'us-east-1',
    pendingTime: new Date('2016-04-05T16:26:55Z'),
    availabilityZone: 'us-east-1c',
    instanceType: 't2.micro',
    imageId: 'ami-fce3c696',
    architecture: 'x86_64',
    privateIp: '172.31.63.60',
    version: '2010-08-31',
  })
})

t.test('ncbi-2019: the base64 may be wrapped, as IMDS serves it', async (t) => {
  t.match(sample('ncbi-2019-us-east-1.pkcs7.b64'), /\n[A-Za-z0-9+/]/, 'the sample is wrapped')
  const verified = verify(JSON.stringify({ pkcs7: sample('ncbi-2019-us-east-1.pkcs7.b64') }), asOf('2019-06-25T16:53:28Z'))
  t.match(verified.document, { instanceType: 't2.medium', version: '2017-09-30' })
})

t.test('rspamd iid0 and iid1 (signature form, RSA-1024 SHA-256) in June 2024', async (t) => {
  const clock = asOf('2024-06-12T12:00:00Z')
  for (const [name, instanceId, zone] of [
    ['rspamd-iid0-2024-us-east-1', 'i-0b02d936754a6d637', 'us-east-1b'],
    ['rspamd-iid1-2024-us-east-1', 'i-0ce4441c840a0a941', 'us-east-1c'],
  ] as const) {
    const subjectToken = JSON.stringify({ document: sample(`${name}.document.json`), signature: sample(`${name}.signature.b64`) })
    const verified = verify(subjectToken, clock)
    t.match(verified.document, { accountId: '975050371289', instanceId, region: 'us-east-1', availabilityZone: zone }, name)
    t.equal(verified.form, 'signature')
    // AWS wraps one key in a certificate per region; the region comes from the document, not from the certificate.
    const viaSydney = verify(subjectToken, clock, [RSA_AP])
    t.equal(viaSydney.certificate.serialNumber, '1715B201D938A225C8382F4FC5C82361887BD66C', 'verified by the ap-southeast-2 certificate')
    t.equal(viaSydney.document.region, 'us-east-1', 'and still in us-east-1')
  }
  // iid0's pendingTime (2024-02-15) precedes its certificate's notBefore (2024-04-29): not a reason to refuse.
  const iid0 = verify(
    JSON.stringify({
      document: sample('rspamd-iid0-2024-us-east-1.document.json'),
      signature: sample('rspamd-iid0-2024-us-east-1.signature.b64'),
    }),
    clock,
  )
  t.same(iid0.document.pendingTime, new Date('2024-02-15T14:12:11Z'))
  t.ok(iid0.document.pendingTime < new Date(Date.parse(iid0.certificate.validFrom)), 'launched before its certificate existed')
  const iid1 = JSON.stringify({
    document: sample('rspamd-iid1-2024-us-east-1.document.json'),
    signature: sample('rspamd-iid1-2024-us-east-1.signature.b64'),
  })
  t.same(verify(iid1, clock).document.marketplaceProductCodes, ['4i20ezfza3p7xx2kt2g8weu2u'])
})

t.test('the signature form has no signing time: its certificate must be valid now', async (t) => {
  const iid0 = JSON.stringify({
    document: sample('rspamd-iid0-2024-us-east-1.document.json'),
    signature: sample('rspamd-iid0-2024-us-east-1.signature.b64'),
  })
  await assertRefused(
    t,
    attempt(iid0, asOf('2024-04-01T00:00:00Z')),
    'certificate_not_yet_valid',
    /^the instance identity signature verifies only with certificate serial 135CB634828253E460E2EBB8BB7DA4A06F501182 .* which is not valid at 2024-04-01T00:00:00.000Z/,
  )
  await assertRefused(
    t,
    attempt(iid0, asOf('2029-05-01T00:00:00Z')),
    'certificate_expired',
    /is not valid at 2029-05-01T00:00:00.000Z \(valid 2024-04-29T17:34:01.000Z to 2029-04-28T17:34:01.000Z\)$/,
  )
})

t.test('metaphor-2026: signature and rsa2048 forms of one document', async (t) => {
  const clock = asOf('2026-02-16T00:39:28Z')
  const document = sample('metaphor-2026-ap-southeast-2.document.json')
  const bySignature = verify(JSON.stringify({ document, signature: sample('metaphor-2026-ap-southeast-2.signature.b64') }), clock)
  const byRsa2048 = verify(token.rsa2048(derOf('metaphor-2026-ap-southeast-2.rsa2048.pkcs7.b64')), clock)
  for (const verified of [bySignature, byRsa2048]) {
    t.match(verified.document, {
      accountId: '189292791360',
      instanceId: 'i-0c5541936caf78c12',
      region: 'ap-southeast-2',
      architecture: 'arm64',
      instanceType: 't4g.small',
    })
  }
  t.equal(byRsa2048.signedBytes.toString('utf8'), document, 'the rsa2048 eContent is the document, byte for byte')
  t.equal(byRsa2048.certificate.serialNumber, 'BD9B3A06FE76AF6B')
  t.same(byRsa2048.signingTime, new Date('2026-02-16T00:38:28Z'))
  await assertRefused(
    t,
    attempt(token.rsa2048(derOf('metaphor-2026-ap-southeast-2.rsa2048.pkcs7.b64')), clock, [RSA2048_US, RSA_AP, DSA_AP]),
    'certificate_untrusted',
    /^the instance identity PKCS#7 is refused: its signer \(serial BD9B3A06FE76AF6B\) is not a trusted AWS certificate$/,
  )
})

t.test('tampered copies are refused', async (t) => {
  const vault = derOf('vault-2016-us-east-1.pkcs7.b64')
  const clock = asOf('2016-04-05T16:28:00Z')
  await assertRefused(
    t,
    attempt(token.pkcs7(replaceBytes(vault, '241656615859', '241656615850')), clock),
    'signature_invalid',
    /^the instance identity PKCS#7 is refused: its content does not match the signed messageDigest$/,
  )
  await assertRefused(
    t,
    attempt(token.pkcs7(flipBit(vault, vault.length - 10)), clock),
    'signature_invalid',
    /^the instance identity PKCS#7 is refused: its signature is invalid$/,
  )
  await assertRefused(
    t,
    attempt(token.pkcs7(replaceBytes(vault, '160405162700Z', '160405162701Z')), clock),
    'signature_invalid',
    /its signature is invalid$/,
  )

  const metaphor = derOf('metaphor-2026-ap-southeast-2.rsa2048.pkcs7.b64')
  const clock2026 = asOf('2026-02-16T00:39:28Z')
  await assertRefused(
    t,
    attempt(token.rsa2048(replaceBytes(metaphor, '"t4g.small"', '"t4g.large"')), clock2026),
    'signature_invalid',
    /its content does not match the signed messageDigest$/,
  )
  await assertRefused(
    t,
    attempt(token.rsa2048(flipBit(metaphor, metaphor.length - 20)), clock2026),
    'signature_invalid',
    /its signature is invalid$/,
  )

  const document = sample('rspamd-iid0-2024-us-east-1.document.json')
  const signature = Buffer.from(base64Of('rspamd-iid0-2024-us-east-1.signature.b64'), 'base64')
  const june = asOf('2024-06-12T12:00:00Z')
  await assertRefused(
    t,
    attempt(token.signature(document.replace('975050371289', '975050371288'), signature), june),
    'signature_invalid',
    /^the instance identity signature does not verify with any trusted AWS certificate$/,
  )
  await assertRefused(t, attempt(token.signature(`${document}\n`, signature), june), 'signature_invalid', /does not verify/)
  await assertRefused(t, attempt(token.signature(document, flipBit(signature, 64)), june), 'signature_invalid', /does not verify/)
})

t.test('each field takes only its own algorithms and keys', async (t) => {
  const clock = asOf('2026-02-16T00:39:28Z')
  await assertRefused(
    t,
    attempt(token.pkcs7(derOf('metaphor-2026-ap-southeast-2.rsa2048.pkcs7.b64')), clock),
    'algorithm_not_accepted',
    /^the instance identity PKCS#7 is refused: it is signed with algorithms 2.16.840.1.101.3.4.2.1 and 1.2.840.113549.1.1.11; the pkcs7 form must be signed with DSA with SHA-1$/,
  )
  await assertRefused(
    t,
    attempt(token.rsa2048(derOf('vault-2016-us-east-1.pkcs7.b64')), asOf('2016-04-05T16:28:00Z')),
    'algorithm_not_accepted',
    /the rsa2048 form must be signed with RSA with SHA-256$/,
  )
  await assertRefused(
    t,
    attempt(token.pkcs7(derOf('vault-2016-us-east-1.pkcs7.b64')), asOf('2016-04-05T16:28:00Z'), [RSA_US, RSA2048_US]),
    'certificate_untrusted',
    /its signer \(serial 96BA48D9E55E1A67\) is not a trusted AWS certificate$/,
  )
})

t.test('a PKCS#7 is checked against its certificate at its signing time, which may not be in the future', async (t) => {
  const vault = token.pkcs7(derOf('vault-2016-us-east-1.pkcs7.b64'))
  // Signed in 2016 while the certificate was valid: still acceptable after the certificate expires (2038).
  t.equal(verify(vault, asOf('2040-01-01T00:00:00Z')).document.instanceId, 'i-de0f1344')
  t.equal(verify(vault, asOf('2016-04-05T16:26:01Z')).document.instanceId, 'i-de0f1344', 'signed 59 s ahead of our clock: within the skew')
  await assertRefused(
    t,
    attempt(vault, asOf('2016-04-05T16:25:59Z')),
    'token_not_yet_valid',
    /^the instance identity PKCS#7 is refused: it was signed at 2016-04-05T16:27:00.000Z, which is in the future$/,
  )
})
