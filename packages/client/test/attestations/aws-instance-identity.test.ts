import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { AWS_INSTANCE_IDENTITY_TOKEN_TYPE } from '../../src/attestations/attestation.js'
import { awsInstanceIdentity } from '../../src/attestations/aws-instance-identity.js'
import { IMDS_SAMPLES, startImdsStandIn } from '../support/imds-stand-in.js'
import { context, startMetadataStandIn } from '../support/metadata-stand-in.js'

function nonceDirectory(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sts-aws-nonce-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('the RSA-2048 PKCS#7, as IMDS serves it, with the instance nonce it created once (0600)', async (t) => {
  const metadata = await startImdsStandIn(t)
  const noncePath = join(nonceDirectory(t), 'seed-sts', 'aws-nonce')
  const attestation = awsInstanceIdentity({ noncePath, endpoint: metadata.url })
  const { subjectToken, subjectTokenType } = await attestation.subjectToken(context())
  t.equal(subjectTokenType, AWS_INSTANCE_IDENTITY_TOKEN_TYPE)
  const nonce = readFileSync(noncePath, 'utf8').trim()
  t.match(nonce, /^[0-9a-f]{64}$/)
  t.equal(statSync(noncePath).mode & 0o777, 0o600)
  t.same(JSON.parse(subjectToken), { rsa2048: IMDS_SAMPLES['/latest/dynamic/instance-identity/rsa2048'], nonce })
  t.same(
    metadata.requests.map((request) => [
      request.method,
      request.path,
      request.headers['x-aws-ec2-metadata-token-ttl-seconds'] ?? request.headers['x-aws-ec2-metadata-token'],
    ]),
    [
      ['PUT', '/latest/api/token', '21600'],
      ['GET', '/latest/dynamic/instance-identity/rsa2048', 'imds-session-1'],
    ],
  )

  await attestation.subjectToken(context())
  t.equal(metadata.requests.length, 3, 'the session token is reused')
  metadata.expireSessions()
  t.same(JSON.parse((await attestation.subjectToken(context())).subjectToken), {
    rsa2048: IMDS_SAMPLES['/latest/dynamic/instance-identity/rsa2048'],
    nonce,
  })
  t.same(
    metadata.requests.slice(3).map((request) => [request.method, request.path]),
    [
      ['GET', '/latest/dynamic/instance-identity/rsa2048'],
      ['PUT', '/latest/api/token'],
      ['GET', '/latest/dynamic/instance-identity/rsa2048'],
    ],
    'a 401 gets a new session token, once',
  )

  const restarted = awsInstanceIdentity({ noncePath, endpoint: metadata.url })
  t.equal(
    JSON.parse((await restarted.subjectToken(context())).subjectToken).nonce,
    nonce,
    'a restart, or another process, sends the same nonce',
  )
})

t.test('the document and its signature, the document byte for byte; or the DSA PKCS#7', async (t) => {
  const metadata = await startImdsStandIn(t)
  const noncePath = join(nonceDirectory(t), 'aws-nonce')
  const signature = awsInstanceIdentity({ noncePath, endpoint: metadata.url, form: 'signature', sessionTtlSeconds: 60 })
  const sent = JSON.parse((await signature.subjectToken(context())).subjectToken)
  t.same(Object.keys(sent), ['document', 'signature', 'nonce'])
  t.equal(
    sent.document,
    IMDS_SAMPLES['/latest/dynamic/instance-identity/document'],
    'the exact bytes IMDS served: the signature covers them',
  )
  t.equal(sent.signature, IMDS_SAMPLES['/latest/dynamic/instance-identity/signature'])
  t.equal(metadata.requests[0]?.headers['x-aws-ec2-metadata-token-ttl-seconds'], '60')

  const pkcs7 = awsInstanceIdentity({ noncePath, endpoint: metadata.url, form: 'pkcs7' })
  t.same(JSON.parse((await pkcs7.subjectToken(context())).subjectToken), {
    pkcs7: IMDS_SAMPLES['/latest/dynamic/instance-identity/pkcs7'],
    nonce: sent.nonce,
  })
})

t.test('IMDS down is retryable; IMDS refusing is not; options are checked', async (t) => {
  const noncePath = join(nonceDirectory(t), 'aws-nonce')
  const down = awsInstanceIdentity({ noncePath, endpoint: 'http://127.0.0.1:9' })
  await t.rejects(down.subjectToken(context()), {
    name: 'AttestationError',
    retryable: true,
    message: /^the AWS instance metadata service did not answer: fetch failed/,
  })

  const v1Only = await startMetadataStandIn(t, () => ({ status: 403, body: 'IMDSv2 disabled' }))
  await t.rejects(awsInstanceIdentity({ noncePath, endpoint: v1Only.url }).subjectToken(context()), {
    name: 'AttestationError',
    retryable: false,
    message: 'the AWS instance metadata service (IMDSv2 session token) answered 403: IMDSv2 disabled',
  })
  t.throws(() => awsInstanceIdentity({ noncePath: '' }), { name: 'TypeError', message: /`noncePath` must name the file/ })
  t.throws(() => awsInstanceIdentity({ noncePath, form: 'pem' as 'pkcs7' }), {
    name: 'TypeError',
    message: /`form` must be rsa2048, signature or pkcs7, not pem/,
  })
  t.throws(() => awsInstanceIdentity({ noncePath, sessionTtlSeconds: 21_601 }), {
    name: 'TypeError',
    message: /`sessionTtlSeconds` must be a whole number from 1 to 21600/,
  })
})
