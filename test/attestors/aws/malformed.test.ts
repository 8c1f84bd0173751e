import t from 'tap'
import { createAwsAttestor } from '../../../src/attestors/aws/attestor.js'
import { AwsAttestorConfig } from '../../../src/attestors/aws/config.js'
import { AWS_INSTANCE_IDENTITY_TOKEN_TYPE, parseAwsSubjectToken } from '../../../src/attestors/aws/subject-token.js'
import { StsError, type ErrorReason } from '../../../src/errors.js'
import { assertRefused } from '../../support/attestors/jwt-attestations.js'
import { asOf, derOf, sample, token } from '../../support/attestors/aws-iid.js'

/**
 * Whatever a caller sends, the answer is an InvalidGrantError with a short description: never a crash,
 * never a non-StsError (which the error handler would turn into a 500).
 */

const attestor = createAwsAttestor(AwsAttestorConfig.parse({ kind: 'aws', name: 'prod-aws', accounts: ['241656615859'] }), {
  trustDomain: 'example.org',
  clock: asOf('2016-04-05T16:28:00Z'),
  maxAttestationBytes: 16_384,
})
const vault = derOf('vault-2016-us-east-1.pkcs7.b64')
const SHAPES = /send \{"pkcs7": "<base64>"\}, \{"rsa2048": "<base64>"\} or \{"document": "<document>", "signature": "<base64>"\}$/

t.test('the subject token type is ours, and the accepted shapes parse', async (t) => {
  t.equal(AWS_INSTANCE_IDENTITY_TOKEN_TYPE, 'urn:seed-sts:token-type:aws-instance-identity')
  t.same(attestor.tokenTypes, [AWS_INSTANCE_IDENTITY_TOKEN_TYPE])
  t.same(parseAwsSubjectToken('{"pkcs7": "MIAG\\nCSqG"}', 100), { form: 'pkcs7', pkcs7: Buffer.from('MIAGCSqG', 'base64') })
  t.same(parseAwsSubjectToken('{"rsa2048": "AAAA"}', 100), { form: 'rsa2048', pkcs7: Buffer.alloc(3) })
  t.same(parseAwsSubjectToken('{"signature": "AA==", "document": "{\\n}"}', 100), {
    form: 'signature',
    document: Buffer.from('{\n}'),
    signature: Buffer.alloc(1),
  })
  t.same(parseAwsSubjectToken('{"nonce": "0123456789abcdef!", "rsa2048": "AAAA"}', 100), {
    form: 'rsa2048',
    pkcs7: Buffer.alloc(3),
    nonce: '0123456789abcdef!',
  })
})

t.test('subject tokens that are not one of the three shapes', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['', /^the AWS instance identity is not JSON; send/],
    [vault.toString('base64'), /^the AWS instance identity is not JSON; send/],
    ['{"pkcs7": "abc"', /is not JSON/],
    ['[]', /^the AWS instance identity must be a JSON object; send/],
    ['null', /must be a JSON object/],
    ['"MIAG"', /must be a JSON object/],
    ['{}', /^the AWS instance identity has the fields ""; send/],
    ['{"pkcs7": "AAAA", "rsa2048": "AAAA"}', /^the AWS instance identity has the fields "pkcs7,rsa2048"; send/],
    ['{"document": "{}"}', /has the fields "document"; send/],
    ['{"pkcs7": "AAAA", "kid": "x"}', /has the fields "kid,pkcs7"; send/],
    ['{"__proto__": {"pkcs7": "AAAA"}}', /has the fields "__proto__"; send/],
    ['{"pkcs7": 1234}', /^the AWS instance identity field "pkcs7" must be a non-empty string, not \(a number\)$/],
    ['{"pkcs7": ""}', /field "pkcs7" must be a non-empty string, not ""$/],
    ['{"document": "", "signature": "AAAA"}', /field "document" must be a non-empty string/],
    ['{"pkcs7": "not base64!"}', /^the AWS instance identity field "pkcs7" is not valid base64$/],
    ['{"pkcs7": "AAA"}', /field "pkcs7" is not valid base64$/],
    ['{"pkcs7": "AA=A"}', /field "pkcs7" is not valid base64$/],
    ['{"pkcs7": "  \\n "}', /field "pkcs7" is not valid base64$/],
    ['{"rsa2048": "-----BEGIN PKCS7-----\\nMIAG\\n-----END PKCS7-----"}', /field "rsa2048" is not valid base64$/],
    ['{"document": "{}", "signature": "AAAA*"}', /field "signature" is not valid base64$/],
    ['{"nonce": "0123456789abcdef"}', /has the fields ""; send/],
    [
      '{"pkcs7": "AAAA", "nonce": 12345678901234567}',
      /^the AWS instance identity field "nonce" must be 1 to 256 visible ASCII characters$/,
    ],
    ['{"pkcs7": "AAAA", "nonce": "with space 123456"}', /field "nonce" must be 1 to 256 visible ASCII characters$/],
    [`{"pkcs7": "AAAA", "nonce": "${'n'.repeat(257)}"}`, /field "nonce" must be 1 to 256 visible ASCII characters$/],
  ]
  for (const [subjectToken, description] of cases) {
    await assertRefused(t, attestor.attest(subjectToken), 'attestation_malformed', description)
  }
  t.match(await attestor.attest('[]').catch((e: unknown) => e), { message: SHAPES }, 'the description says what to send')
})

t.test('malformed PKCS#7 envelopes', async (t) => {
  const envelope = (description: string) => new RegExp(`^the instance identity PKCS#7 is refused: ${description}$`)
  const cases: Array<[Buffer, RegExp, ErrorReason?]> = [
    [vault.subarray(0, vault.length / 2), envelope('it is not valid ASN.1')],
    [vault.subarray(0, vault.length - 1), envelope('it is not valid ASN.1')],
    [Buffer.concat([vault, Buffer.from([0x00])]), envelope('it has data after its end')],
    [Buffer.from('{"accountId": "241656615859"}'), envelope('it is not (valid ASN.1|a well-formed PKCS#7 message)')],
    [Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01]), envelope('it is not a well-formed PKCS#7 message')],
    [Buffer.from('300f06092a864886f70d010701a0020500', 'hex'), envelope('its content type 1.2.840.113549.1.7.1 is not signedData')],
    [
      Buffer.from('308006092a864886f70d010702a0803080020101310030800000000000000000', 'hex'),
      envelope('it is not a well-formed SignedData'),
    ],
    [Buffer.alloc(8_000, 0xff), envelope('it is not valid ASN.1')],
    // 8000 nested indefinite-length SEQUENCEs: deep enough to trouble a recursive parser.
    [
      Buffer.concat([Buffer.alloc(12_000).fill(Buffer.from([0x30, 0x80])), Buffer.alloc(12_000)]),
      envelope('it is larger than 16384 bytes'),
      'attestation_too_large',
    ],
    [
      Buffer.concat([Buffer.alloc(8_000).fill(Buffer.from([0x30, 0x80])), Buffer.alloc(8_000)]),
      envelope('it is not (valid ASN.1|a well-formed PKCS#7 message)'),
    ],
  ]
  const lenient = createAwsAttestor(AwsAttestorConfig.parse({ kind: 'aws', name: 'prod-aws', accounts: ['241656615859'] }), {
    trustDomain: 'example.org',
    clock: asOf('2016-04-05T16:28:00Z'),
    maxAttestationBytes: 64_000,
  })
  for (const [der, description, reason = 'attestation_malformed'] of cases) {
    await assertRefused(t, lenient.attest(token.pkcs7(der)), reason, description)
    await assertRefused(t, lenient.attest(token.rsa2048(der)), reason, description)
  }
})

t.test('oversized subject tokens are refused before parsing', async (t) => {
  const tooLarge = /^the AWS instance identity is larger than the 16384 bytes accepted$/
  const tenMegabytes = 'A'.repeat(10 * 1024 * 1024)
  const started = process.hrtime.bigint()
  await assertRefused(t, attestor.attest(tenMegabytes), 'attestation_too_large', tooLarge)
  await assertRefused(t, attestor.attest(JSON.stringify({ pkcs7: tenMegabytes })), 'attestation_too_large', tooLarge)
  await assertRefused(
    t,
    attestor.attest(JSON.stringify({ document: sample('vault-2016-us-east-1.content.json').padEnd(16_300, ' '), signature: 'AAAA' })),
    'attestation_too_large',
    tooLarge,
  )
  await assertRefused(t, attestor.attest(`{"pkcs7": "${'é'.repeat(9_000)}"}`), 'attestation_too_large', tooLarge)
  t.ok(process.hrtime.bigint() - started < 2_000_000_000n, 'refused quickly')
  const signatureTooLong = JSON.stringify({ document: '{}', signature: Buffer.alloc(1024).toString('base64') })
  await assertRefused(
    t,
    attestor.attest(signatureTooLong),
    'attestation_malformed',
    /^the instance identity signature is too long to be an RSA signature$/,
  )
})

t.test('nothing but StsErrors escape, and nothing signed can change, whatever the bytes', async (t) => {
  // Every single-byte change in the first 200 bytes, and 200 scattered ones.
  const mutate = (index: number, value: number) => {
    const copy = Buffer.from(vault)
    copy[index] = value
    return copy
  }
  const inputs = [
    ...Array.from({ length: 200 }, (_, i) => mutate(i, vault[i] ^ 0x80)),
    ...Array.from({ length: 200 }, (_, i) => mutate((i * 7919) % vault.length, (i * 31) & 0xff)),
  ]
  let refused = 0
  for (const input of inputs) {
    try {
      const identity = await attestor.attest(token.pkcs7(input))
      // asn1js tolerates a few changes to the end-of-contents octets, outside anything signed.
      t.equal(
        identity.subject,
        'spiffe://example.org/aws/241656615859/us-east-1/i-de0f1344',
        'an accepted mutation changed nothing that is signed',
      )
    } catch (error) {
      if (!(error instanceof StsError)) t.fail(`a ${(error as Error).name} escaped: ${(error as Error).message}`)
      else refused++
    }
  }
  t.ok(refused >= inputs.length - 3, `${refused} of ${inputs.length} mutated envelopes refused with an StsError`)
})
