import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createAwsAttestor, type AwsAttestorDeps } from '../../../src/attestors/aws/attestor.js'
import { AwsAttestorConfig } from '../../../src/attestors/aws/config.js'
import { ConfigError } from '../../../src/config.js'
import type { FixedClock } from '../../../src/lib/clock.js'
import { assertRefused } from '../../support/attestors/jwt-attestations.js'
import { asOf, derOf, sample, SHIPPED, token } from '../../support/attestors/aws-iid.js'

const VAULT = token.pkcs7(derOf('vault-2016-us-east-1.pkcs7.b64'))
const VAULT_TIME = asOf('2016-04-05T16:28:00Z')
const METAPHOR = token.rsa2048(derOf('metaphor-2026-ap-southeast-2.rsa2048.pkcs7.b64'))
const METAPHOR_SIGNATURE = JSON.stringify({
  document: sample('metaphor-2026-ap-southeast-2.document.json'),
  signature: sample('metaphor-2026-ap-southeast-2.signature.b64'),
})
const METAPHOR_TIME = asOf('2026-02-16T00:39:28Z')

function config(fields: Record<string, unknown> = {}): AwsAttestorConfig {
  return AwsAttestorConfig.parse({ kind: 'aws', name: 'prod-aws', accounts: ['241656615859', '189292791360'], ...fields })
}
function deps(clock: FixedClock, overrides: Partial<AwsAttestorDeps> = {}): AwsAttestorDeps {
  return { trustDomain: 'example.org', clock, maxAttestationBytes: 16_384, ...overrides }
}

t.test('an instance identity document gives the instance identity, from the shipped certificates', async (t) => {
  const attestor = createAwsAttestor(config(), deps(VAULT_TIME))
  t.match(attestor, { name: 'prod-aws', kind: 'aws', tokenTypes: ['urn:seed-sts:token-type:aws-instance-identity'] })
  t.same(await attestor.attest(VAULT), {
    subject: 'spiffe://example.org/aws/241656615859/us-east-1/i-de0f1344',
    attestor: 'prod-aws',
    kind: 'aws',
    claims: {
      accountId: '241656615859',
      region: 'us-east-1',
      availabilityZone: 'us-east-1c',
      instanceId: 'i-de0f1344',
      instanceType: 't2.micro',
      imageId: 'ami-fce3c696',
      architecture: 'x86_64',
      privateIp: '172.31.63.60',
    },
    sources: [{ id: 'aws:241656615859' }, { id: 'aws:241656615859:us-east-1' }, { id: 'aws:241656615859:us-east-1:i-de0f1344' }],
    registration: { instance: '241656615859/us-east-1/i-de0f1344', mode: 'nonce' },
    // The SHA-256 of the PKCS#7 content, the document AWS signed, kept beside the sample.
    fingerprint: createHash('sha256').update(sample('vault-2016-us-east-1.content.json')).digest('base64url'),
  })
})

t.test('the rsa2048 and signature forms of one document give the same identity', async (t) => {
  const attestor = createAwsAttestor(config(), deps(METAPHOR_TIME))
  const expected = {
    subject: 'spiffe://example.org/aws/189292791360/ap-southeast-2/i-0c5541936caf78c12',
    attestor: 'prod-aws',
    kind: 'aws',
    claims: {
      accountId: '189292791360',
      region: 'ap-southeast-2',
      availabilityZone: 'ap-southeast-2a',
      instanceId: 'i-0c5541936caf78c12',
      instanceType: 't4g.small',
      imageId: 'ami-0cbde744623b7506b',
      architecture: 'arm64',
      privateIp: '10.0.1.242',
    },
    sources: [
      { id: 'aws:189292791360' },
      { id: 'aws:189292791360:ap-southeast-2' },
      { id: 'aws:189292791360:ap-southeast-2:i-0c5541936caf78c12' },
    ],
    registration: { instance: '189292791360/ap-southeast-2/i-0c5541936caf78c12', mode: 'nonce' },
    // What AWS signed, the same document in both forms: one attestation, one fingerprint in the ledger.
    fingerprint: createHash('sha256').update(sample('metaphor-2026-ap-southeast-2.document.json')).digest('base64url'),
  }
  t.same(await attestor.attest(METAPHOR), expected)
  t.same(await attestor.attest(METAPHOR_SIGNATURE), expected)
})

t.test('accounts and regions not allowed are refused by name', async (t) => {
  const onlyOther = createAwsAttestor(config({ accounts: ['111122223333'] }), deps(VAULT_TIME))
  await assertRefused(t, onlyOther.attest(VAULT), 'claim_not_allowed', /^account "241656615859" is not allowed by attestor "prod-aws"$/)
  const europe = createAwsAttestor(config({ regions: ['eu-west-1', 'eu-*'] }), deps(VAULT_TIME))
  await assertRefused(t, europe.attest(VAULT), 'claim_not_allowed', /^region "us-east-1" is not allowed by attestor "prod-aws"$/)
  const us = createAwsAttestor(config({ regions: ['eu-west-1', 'us-*'] }), deps(VAULT_TIME))
  t.equal((await us.attest(VAULT)).claims.region, 'us-east-1', 'a glob allows a family of regions')
  const exact = createAwsAttestor(config({ regions: ['us-east-1'] }), deps(METAPHOR_TIME))
  await assertRefused(t, exact.attest(METAPHOR), 'claim_not_allowed', /^region "ap-southeast-2" is not allowed by attestor "prod-aws"$/)
  await assertRefused(t, exact.attest(METAPHOR_SIGNATURE), 'claim_not_allowed', /^region "ap-southeast-2" is not allowed/)
})

t.test('maxDocumentAgeSeconds accepts only instances launched recently', async (t) => {
  // vault-2016: launched (pendingTime) 2016-04-05T16:26:55Z, signed 16:27:00Z.
  const young = createAwsAttestor(config({ maxDocumentAgeSeconds: 600 }), deps(asOf('2016-04-05T16:36:55Z')))
  t.equal((await young.attest(VAULT)).subject, 'spiffe://example.org/aws/241656615859/us-east-1/i-de0f1344', 'launched exactly 600 s ago')
  const later = createAwsAttestor(config({ maxDocumentAgeSeconds: 600 }), deps(asOf('2016-04-05T16:36:56Z')))
  await assertRefused(
    t,
    later.attest(VAULT),
    'attestation_too_old',
    /^instance "i-de0f1344" was launched at 2016-04-05T16:26:55.000Z, more than the 600 seconds ago accepted by attestor "prod-aws"$/,
  )
  const unbounded = createAwsAttestor(config(), deps(asOf('2030-01-01T00:00:00Z')))
  t.equal((await unbounded.attest(VAULT)).claims.instanceId, 'i-de0f1344', 'off by default: a document never expires')
  // The signature form has no signing time; a launch time far ahead of our clock is refused when the age is checked.
  const early = createAwsAttestor(config({ maxDocumentAgeSeconds: 600 }), deps(asOf('2026-02-16T00:30:00Z')))
  await assertRefused(
    t,
    early.attest(METAPHOR_SIGNATURE),
    'token_not_yet_valid',
    /^instance "i-0c5541936caf78c12" was launched at 2026-02-16T00:38:27.000Z, which is in the future$/,
  )
})

t.test('replay defences: the registration the exchange admits, and the address binding', async (t) => {
  const nonce = 'f'.repeat(64)
  const withNonce = JSON.stringify({ ...JSON.parse(VAULT), nonce })
  const byDefault = createAwsAttestor(config(), deps(VAULT_TIME))
  t.same((await byDefault.attest(withNonce)).registration, { instance: '241656615859/us-east-1/i-de0f1344', mode: 'nonce', nonce })
  const once = createAwsAttestor(config({ reattestation: 'never' }), deps(VAULT_TIME))
  t.same((await once.attest(VAULT)).registration, { instance: '241656615859/us-east-1/i-de0f1344', mode: 'never' })
  t.notOk((await byDefault.attest(VAULT)).boundAddress, 'not bound to an address unless configured')
  const bound = createAwsAttestor(config({ bindToPrivateIp: true }), deps(VAULT_TIME))
  t.equal((await bound.attest(VAULT)).boundAddress, '172.31.63.60', "bound to the document's privateIp")
})

t.test('configured certificates replace the shipped ones', async (t) => {
  const usOnly = createAwsAttestor(
    config({ certificates: [join(SHIPPED, 'aws-dsa-pkcs7-us-east-1.pem'), join(SHIPPED, 'aws-rsa2048-us-east-1.pem')] }),
    deps(METAPHOR_TIME),
  )
  await assertRefused(
    t,
    usOnly.attest(METAPHOR),
    'certificate_untrusted',
    /its signer \(serial BD9B3A06FE76AF6B\) is not a trusted AWS certificate$/,
  )
  await assertRefused(t, usOnly.attest(METAPHOR_SIGNATURE), 'signature_invalid', /does not verify with any trusted AWS certificate$/)
  const dir = t.testdir({})
  const bundle = join(dir, 'bundle.pem')
  writeFileSync(bundle, ['aws-rsa2048-us-east-1.pem', 'aws-rsa2048-ap-southeast-2.pem'].map((f) => sample(`certs/${f}`)).join('\n'))
  const fromBundle = createAwsAttestor(config({ certificates: [bundle] }), deps(METAPHOR_TIME))
  t.equal((await fromBundle.attest(METAPHOR)).claims.region, 'ap-southeast-2', 'one file may hold several certificates')
})

t.test('configuration problems stop the service with a ConfigError naming them', async (t) => {
  const dir = t.testdir({ 'empty.pem': '', 'garbage.pem': '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' })
  const problems = (certificates: string[]): string[] => {
    try {
      createAwsAttestor(config({ certificates: certificates.map((file) => join(dir, file)) }), deps(VAULT_TIME))
    } catch (error) {
      if (error instanceof ConfigError) return error.problems
      throw error
    }
    return []
  }
  t.match(problems(['missing.pem', 'missing2.pem']), [
    new RegExp(`^attestor prod-aws: certificates: cannot read ${join(dir, 'missing.pem')} \\(ENOENT`),
    /missing2\.pem \(ENOENT/,
  ])
  t.same(problems(['empty.pem']), [`attestor prod-aws: certificates: ${join(dir, 'empty.pem')} holds no PEM certificate`])
  t.match(problems(['garbage.pem']), [
    new RegExp(`^attestor prod-aws: certificates: certificate 1 of ${join(dir, 'garbage.pem')} cannot be parsed`),
  ])
})

t.test('the configuration schema', async (t) => {
  const issues = (input: Record<string, unknown>) =>
    (AwsAttestorConfig.safeParse({ kind: 'aws', name: 'prod-aws', ...input }).error?.issues ?? []).map(
      (i) => `${i.path.join('.')}: ${i.message}`,
    )
  t.same(issues({ accounts: ['241656615859'] }), [])
  t.match(issues({}), [/^accounts: /])
  t.same(issues({ accounts: [] }), ['accounts: list the AWS accounts whose instances may attest'])
  t.same(issues({ accounts: [241656615859] }), ['accounts.0: Invalid input: expected string, received number'])
  t.same(issues({ accounts: ['24165661585'], regions: ['us-east-1', 'US_EAST'] }), [
    'accounts.0: must be a 12-digit AWS account id (a string, quoted in YAML)',
    'regions.1: must be a region name like eu-west-1, or a glob like eu-*',
  ])
  t.match(issues({ accounts: ['241656615859'], maxDocumentAgeSeconds: 0 }), [/^maxDocumentAgeSeconds: /])
  t.match(issues({ accounts: ['241656615859'], certificates: [] }), [/^certificates: /])
  t.match(issues({ accounts: ['241656615859'], account: '241656615859' }), [/Unrecognized key: "account"/])
  t.match(issues({ accounts: ['241656615859'], reattestation: 'sometimes' }), [/^reattestation: /])
  t.match(AwsAttestorConfig.parse({ kind: 'aws', name: 'prod-aws', accounts: ['241656615859'] }), {
    reattestation: 'nonce',
    bindToPrivateIp: false,
  })
})
