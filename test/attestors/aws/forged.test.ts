import { X509Certificate } from 'node:crypto'
import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'
import t from 'tap'
import { createInstanceIdentityVerifier } from '../../../src/attestors/aws/instance-identity.js'
import { parseAwsSubjectToken } from '../../../src/attestors/aws/subject-token.js'
import type { ErrorReason } from '../../../src/errors.js'
import { FixedClock } from '../../../src/lib/clock.js'
import { assertRefused } from '../../support/attestors/jwt-attestations.js'
import {
  buildPkcs7,
  forgedDocument,
  insideValidity,
  makeSigner,
  OID,
  shippedPem,
  signDocument,
  token,
} from '../../support/attestors/aws-iid.js'

/**
 * Documents signed with keys of our own. Against AWS's certificates every one must be refused; with
 * our own certificate trusted (a positive control, so each refusal below is for the reason it names)
 * each malformed envelope is refused for its own fault.
 */

const AWS = [
  'aws-dsa-pkcs7-us-east-1.pem',
  'aws-rsa-signature-us-east-1.pem',
  'aws-rsa2048-us-east-1.pem',
  'aws-rsa2048-ap-southeast-2.pem',
].map(shippedPem)
const AWS_RSA2048 = new X509Certificate(shippedPem('aws-rsa2048-ap-southeast-2.pem'))
const AWS_DSA = new X509Certificate(shippedPem('aws-dsa-pkcs7-us-east-1.pem'))

const rsa = makeSigner('rsa', 2048, '/O=Amazon Web Services LLC/CN=forger')
const rsa1024 = makeSigner('rsa', 1024, '/O=Amazon Web Services LLC/CN=forger-1024')
const dsa = makeSigner('dsa', 2048, '/O=Amazon Web Services LLC/CN=forger-dsa')
const document = forgedDocument()
const now = insideValidity(rsa)
const clock = new FixedClock(now.getTime() + 60_000)

async function attempt(subjectToken: string, certificates: Array<string | X509Certificate>, at: FixedClock = clock) {
  return createInstanceIdentityVerifier({ certificates, clock: at }).verify(parseAwsSubjectToken(subjectToken, 16_384))
}

t.test('a document signed by a key of our own is refused: its certificate is not trusted', async (t) => {
  const notTrusted = /^the instance identity PKCS#7 is refused: its signer \(serial 2A2A2A\) is not a trusted AWS certificate$/
  await assertRefused(
    t,
    attempt(token.rsa2048(buildPkcs7({ content: document, signer: rsa, signingTime: now })), AWS),
    'certificate_untrusted',
    notTrusted,
  )
  await assertRefused(
    t,
    attempt(token.pkcs7(buildPkcs7({ content: document, signer: dsa, signingTime: now })), AWS),
    'certificate_untrusted',
    notTrusted,
  )
  await assertRefused(
    t,
    attempt(token.signature(document, signDocument(document, rsa1024)), AWS),
    'signature_invalid',
    /^the instance identity signature does not verify with any trusted AWS certificate$/,
  )
  await assertRefused(
    t,
    attempt(token.signature(document, signDocument(document, rsa)), AWS),
    'signature_invalid',
    /does not verify with any trusted AWS certificate$/,
  )
})

t.test('a certificate embedded in the PKCS#7 is never trusted', async (t) => {
  for (const [form, signer] of [
    ['rsa2048', rsa],
    ['pkcs7', dsa],
  ] as const) {
    const embedded = buildPkcs7({ content: document, signer, signingTime: now, embed: [signer.certificate] })
    await assertRefused(
      t,
      attempt(token[form](embedded), AWS),
      'certificate_untrusted',
      /its signer \(serial 2A2A2A\) is not a trusted AWS certificate$/,
    )
  }
  // Naming AWS's certificate as the signer only makes us check the signature with AWS's key.
  const impersonating = buildPkcs7({ content: document, signer: rsa, signingTime: now, embed: [rsa.certificate], claimSigner: AWS_RSA2048 })
  await assertRefused(
    t,
    attempt(token.rsa2048(impersonating), AWS),
    'signature_invalid',
    /^the instance identity PKCS#7 is refused: its signature is invalid$/,
  )
  const impersonatingDsa = buildPkcs7({ content: document, signer: dsa, signingTime: now, embed: [dsa.certificate], claimSigner: AWS_DSA })
  await assertRefused(t, attempt(token.pkcs7(impersonatingDsa), AWS), 'signature_invalid', /its signature is invalid$/)
})

t.test('positive control: with our own certificate trusted, each form verifies', async (t) => {
  const rsaVerified = await attempt(token.rsa2048(buildPkcs7({ content: document, signer: rsa, signingTime: now })), [...AWS, rsa.pem])
  t.match(rsaVerified, { form: 'rsa2048', document: { accountId: '111122223333', region: 'eu-west-1' }, signingTime: now })
  const dsaVerified = await attempt(token.pkcs7(buildPkcs7({ content: document, signer: dsa, signingTime: now })), [dsa.certificate])
  t.match(dsaVerified, { form: 'pkcs7', document: { instanceId: 'i-0123456789abcdef0' } })
  t.match(await attempt(token.signature(document, signDocument(document, rsa1024)), [rsa1024.pem]), {
    form: 'signature',
    document: { instanceType: 'm5.large' },
  })
  // BER: the content in indefinite-length pieces, as AWS sends it.
  const chunked = buildPkcs7({ content: document, signer: rsa, signingTime: now, chunked: 100 })
  t.equal((await attempt(token.rsa2048(chunked), [rsa.pem])).signedBytes.toString(), document, 'content split into BER pieces')
})

t.test('the signed attributes must bind the content, its type and the algorithms', async (t) => {
  const trusted = [rsa.pem]
  const build = (edit: (attributes: pkijs.Attribute[]) => pkijs.Attribute[]) =>
    token.rsa2048(buildPkcs7({ content: document, signer: rsa, signingTime: now, editAttributes: edit }))
  const replace = (type: string, value: asn1js.AsnType) => (attributes: pkijs.Attribute[]) =>
    attributes.map((a) => (a.type === type ? new pkijs.Attribute({ type, values: [value] }) : a))
  await assertRefused(
    t,
    attempt(build(replace(OID.messageDigest, new asn1js.OctetString({ valueHex: Buffer.alloc(32) }))), trusted),
    'signature_invalid',
    /^the instance identity PKCS#7 is refused: its content does not match the signed messageDigest$/,
  )
  await assertRefused(
    t,
    attempt(
      build((a) => a.filter((x) => x.type !== OID.messageDigest)),
      trusted,
    ),
    'attestation_malformed',
    /its signed messageDigest attribute is missing$/,
  )
  await assertRefused(
    t,
    attempt(build(replace(OID.contentType, new asn1js.ObjectIdentifier({ value: OID.signedData }))), trusted),
    'attestation_malformed',
    /its signed contentType attribute is missing or is not id-data$/,
  )
  await assertRefused(
    t,
    attempt(
      build((a) => [...a, a[0]]),
      trusted,
    ),
    'attestation_malformed',
    new RegExp(`its signed attribute ${OID.contentType} must have exactly one value$`),
  )
  const protection = (digest: string, signature: string) =>
    new pkijs.Attribute({
      type: OID.algorithmProtection,
      values: [
        new asn1js.Sequence({
          value: [
            new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: digest })] }),
            new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 1 }, value: [new asn1js.ObjectIdentifier({ value: signature })] }),
          ],
        }),
      ],
    })
  t.ok(
    await attempt(
      build((a) => [...a, protection(OID.sha256, OID.sha256WithRsa)]),
      trusted,
    ),
    'a matching CMSAlgorithmProtection is accepted',
  )
  await assertRefused(
    t,
    attempt(
      build((a) => [...a, protection(OID.sha1, OID.sha256WithRsa)]),
      trusted,
    ),
    'attestation_malformed',
    /its CMSAlgorithmProtection attribute does not match its algorithms$/,
  )
})

t.test('envelopes AWS never sends are refused', async (t) => {
  const trusted = [rsa.pem, rsa1024.pem]
  const refusedAs = (options: Partial<Parameters<typeof buildPkcs7>[0]>, reason: ErrorReason, description: RegExp) =>
    assertRefused(
      t,
      attempt(token.rsa2048(buildPkcs7({ content: document, signer: rsa, signingTime: now, ...options })), trusted),
      reason,
      description,
    )
  await refusedAs(
    { digestOid: OID.sha512 },
    'algorithm_not_accepted',
    /it is signed with algorithms 2.16.840.1.101.3.4.2.3 and 1.2.840.113549.1.1.11; the rsa2048 form must be signed with RSA with SHA-256$/,
  )
  await refusedAs(
    { signatureOid: '1.2.840.113549.1.1.10' },
    'algorithm_not_accepted',
    /the rsa2048 form must be signed with RSA with SHA-256$/,
  )
  await refusedAs(
    { signers: 2 },
    'attestation_malformed',
    /^the instance identity PKCS#7 is refused: it has 2 signers; exactly one is expected$/,
  )
  await refusedAs(
    { eContentType: '1.2.840.113549.1.9.16.1.4' },
    'attestation_malformed',
    /its content type 1.2.840.113549.1.9.16.1.4 is not id-data$/,
  )
  await refusedAs(
    { withoutSignedAttributes: true },
    'attestation_malformed',
    /^the instance identity PKCS#7 is refused: it has no signed attributes$/,
  )
  const small = buildPkcs7({ content: document, signer: rsa1024, signingTime: now })
  await assertRefused(
    t,
    attempt(token.rsa2048(small), trusted),
    'algorithm_not_accepted',
    /has a 1024-bit rsa key, not the RSA with SHA-256 key of the rsa2048 form$/,
  )
})

t.test('the certificate must be valid when the envelope was signed, or now when it says no time', async (t) => {
  const notBefore = new Date(Date.parse(rsa.certificate.validFrom))
  const early = new Date(notBefore.getTime() - 86_400_000)
  const beforeCertificate = buildPkcs7({ content: document, signer: rsa, signingTime: early })
  await assertRefused(
    t,
    attempt(token.rsa2048(beforeCertificate), [rsa.pem]),
    'certificate_not_yet_valid',
    new RegExp(`its signing certificate serial 2A2A2A .* is not valid at ${early.toISOString()} \\(valid `),
  )
  const timeless = token.rsa2048(buildPkcs7({ content: document, signer: rsa, signingTime: null }))
  t.notOk((await attempt(timeless, [rsa.pem])).signingTime, 'no signingTime: checked at the clock time, which is inside the validity')
  const afterExpiry = new FixedClock(Date.parse(rsa.certificate.validTo) + 1000)
  await assertRefused(
    t,
    attempt(timeless, [rsa.pem], afterExpiry),
    'certificate_expired',
    new RegExp(`is not valid at ${new Date(afterExpiry.now()).toISOString()}`),
  )
})

t.test('the verified bytes must be a well-formed document', async (t) => {
  const trusted = [rsa1024.pem]
  const signed = (text: string) => token.signature(text, signDocument(text, rsa1024))
  await assertRefused(
    t,
    attempt(signed('not json'), trusted),
    'attestation_malformed',
    /^the signed instance identity document is not JSON$/,
  )
  await assertRefused(
    t,
    attempt(signed('["a"]'), trusted),
    'attestation_malformed',
    /^the signed instance identity document is not a JSON object$/,
  )
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ accountId: '11112222333' }, /^the instance identity document accountId "11112222333" is not valid$/],
    [{ accountId: 111122223333 }, /^the instance identity document accountId \(a number\) is not valid$/],
    [{ instanceId: 'i-../../x' }, /instanceId "i-..\/..\/x" is not valid$/],
    [{ region: 'eu-west-1/../x' }, /region "eu-west-1\/..\/x" is not valid$/],
    [{ region: undefined }, /region \(none\) is not valid$/],
    [{ pendingTime: 'yesterday' }, /pendingTime "yesterday" is not valid$/],
    [{ pendingTime: '2026-13-45T00:00:00Z' }, /pendingTime "2026-13-45T00:00:00Z" is not valid$/],
    [{ availabilityZone: 'us-east-1a' }, /availabilityZone "us-east-1a" is not valid$/],
    [{ privateIp: '10.0.0.1; rm -rf' }, /privateIp "10.0.0.1; rm -rf" is not valid$/],
    [{ marketplaceProductCodes: 'abc' }, /marketplaceProductCodes is not a list of product codes$/],
  ]
  for (const [fields, description] of cases)
    await assertRefused(t, attempt(signed(forgedDocument(fields)), trusted), 'claim_invalid', description)
  const optionalNulls = forgedDocument({
    kernelId: null,
    instanceType: null,
    marketplaceProductCodes: null,
    availabilityZone: 'eu-west-1-lax-1a',
  })
  t.match((await attempt(signed(optionalNulls), trusted)).document, { availabilityZone: 'eu-west-1-lax-1a', instanceType: undefined })
})
