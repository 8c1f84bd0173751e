import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN } from '../support/service.js'
import { interopDir } from '../support/interop.js'

const INTEROP = interopDir('aws-iid')
const AWS_TYPE = 'urn:seed-sts:token-type:aws-instance-identity'
// rspamd iid0: account 975050371289, us-east-1, i-0b02d936754a6d637, signed with the 2024 RSA "signature" key.
const document = readFileSync(`${INTEROP}rspamd-iid0-2024-us-east-1.document.json`, 'utf8')
const signature = readFileSync(`${INTEROP}rspamd-iid0-2024-us-east-1.signature.b64`, 'utf8').replace(/\s+/g, '')
const SUBJECT = `spiffe://${TRUST_DOMAIN}/aws/975050371289/us-east-1/i-0b02d936754a6d637`

/** An EC2 instance, end to end: its real identity document in, a token out, on record; copies refused. */
t.test('an EC2 instance exchanges its signed identity document, bound to its nonce', async (t) => {
  const sts = await startTestService(t, {
    now: Date.parse('2024-06-12T12:00:00Z'),
    config: { attestors: [{ kind: 'aws', name: 'prod-aws', accounts: ['975050371289'], regions: ['us-*'] }] },
  })
  await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/aws/975050371289/**`,
    conditions: { region: 'us-east-1', instanceType: 't*' },
    audiences: ['artifacts'],
    scopes: ['artifacts:push'],
    owner: 'team-build',
  })
  const exchange = (token: object) =>
    sts.exchange({ grant_type: TOKEN_EXCHANGE, subject_token: JSON.stringify(token), subject_token_type: AWS_TYPE, audience: 'artifacts' })
  const nonce = 'instance-local-secret-7f3a9c1e'

  const first = await exchange({ document, signature, nonce })
  t.equal(first.statusCode, 200, JSON.stringify(first.body))
  const claims = JSON.parse(Buffer.from(String(first.body.access_token).split('.')[1], 'base64url').toString())
  t.equal(claims.sub, SUBJECT)
  t.equal(claims.scope, 'artifacts:push')
  const entry = await sts.services.ledger.get(claims.jti)
  t.match(entry, {
    subject: SUBJECT,
    attestor: 'prod-aws',
    attestorKind: 'aws',
    sources: ['aws:975050371289', 'aws:975050371289:us-east-1', 'aws:975050371289:us-east-1:i-0b02d936754a6d637'],
  })

  t.equal((await exchange({ document, signature, nonce })).statusCode, 200, 'the instance attests again with its nonce')
  const copy = await exchange({ document, signature, nonce: 'a-thief-with-a-copied-document' })
  t.match(copy.body, { error: 'invalid_grant', error_reason: 'nonce_mismatch' })
  t.match((await exchange({ document, signature })).body, { error: 'invalid_grant', error_reason: 'nonce_required' })
  const tampered = await exchange({ document: document.replace('975050371289', '975050371288'), signature, nonce })
  t.match(tampered.body, { error: 'invalid_grant', error_reason: 'signature_invalid' }, 'a document changed after signing is refused')

  const revoked = await sts.app.inject({
    method: 'POST',
    url: '/v1/revocations',
    headers: sts.admin,
    payload: { kind: 'source', value: 'aws:975050371289:us-east-1:i-0b02d936754a6d637', reason: 'instance compromised' },
  })
  t.equal(revoked.json().liveTokensCutOff, 2)
  t.same((await exchange({ document, signature, nonce })).body, {
    error: 'invalid_grant',
    error_description: 'the attestation source aws:975050371289:us-east-1:i-0b02d936754a6d637 is revoked',
    error_reason: 'revoked',
  })

  const discovery = (await sts.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json()
  t.ok(discovery.subject_token_types_supported.includes(AWS_TYPE), 'discovery names the token type')
})

t.test('an account not on the allow-list gets nothing', async (t) => {
  const sts = await startTestService(t, {
    now: Date.parse('2024-06-12T12:00:00Z'),
    config: { attestors: [{ kind: 'aws', name: 'prod-aws', accounts: ['111122223333'] }] },
  })
  const response = await sts.exchange({
    grant_type: TOKEN_EXCHANGE,
    subject_token: JSON.stringify({ document, signature, nonce: 'instance-local-secret-7f3a9c1e' }),
    subject_token_type: AWS_TYPE,
  })
  t.same(response.body, {
    error: 'invalid_grant',
    error_description: 'account "975050371289" is not allowed by attestor "prod-aws"',
    error_reason: 'claim_not_allowed',
  })
})

t.test('an instance that lost its nonce is locked out until an operator forgets its registration, then registers afresh', async (t) => {
  const sts = await startTestService(t, {
    now: Date.parse('2024-06-12T12:00:00Z'),
    config: { attestors: [{ kind: 'aws', name: 'prod-aws', accounts: ['975050371289'], regions: ['us-*'] }] },
  })
  await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/aws/975050371289/**`, audiences: ['artifacts'], owner: 'team-build' })
  const exchange = (nonce: string) =>
    sts.exchange({
      grant_type: TOKEN_EXCHANGE,
      subject_token: JSON.stringify({ document, signature, nonce }),
      subject_token_type: AWS_TYPE,
      audience: 'artifacts',
    })
  t.equal((await exchange('nonce-before-the-rebuild-0001')).statusCode, 200)

  const rebuilt = 'nonce-after-the-rebuild-00002'
  t.same((await exchange(rebuilt)).body, {
    error: 'invalid_grant',
    error_description:
      'instance 975050371289/us-east-1/i-0b02d936754a6d637 is registered with another nonce: this document may be a copy (if the instance lost its nonce, an operator must forget its registration)',
    error_reason: 'nonce_mismatch',
  })
  // The instance of an AWS registration is account/region/instance id: one path segment, encoded.
  const instance = '975050371289/us-east-1/i-0b02d936754a6d637'
  const url = `/v1/registrations/prod-aws/${encodeURIComponent(instance)}`
  const shown = await sts.app.inject({ method: 'GET', url, headers: sts.admin })
  t.same(shown.json(), {
    registration: {
      attestor: 'prod-aws',
      instance,
      nonceBound: true,
      firstSeen: '2024-06-12T12:00:00.000Z',
      lastSeen: '2024-06-12T12:00:00.000Z',
      lastAddress: '127.0.0.1',
      attestations: 1,
    },
  })
  const listed = await sts.app.inject({
    method: 'GET',
    url: `/v1/registrations?attestor=prod-aws&instance=${encodeURIComponent('975050371289/*/i-0b02*')}`,
    headers: sts.admin,
  })
  t.same(listed.json(), { registrations: [shown.json().registration] }, 'a glob over account/region/instance')
  const forgotten = await sts.app.inject({
    method: 'DELETE',
    url,
    headers: sts.admin,
    payload: { reason: 'instance rebuilt, nonce lost (CHG-88)' },
  })
  t.equal(forgotten.statusCode, 200)

  sts.clock.advance(60_000)
  t.equal((await exchange(rebuilt)).statusCode, 200, 'the forgotten instance registers afresh with its new nonce')
  t.match(
    (await exchange('nonce-before-the-rebuild-0001')).body,
    { error: 'invalid_grant', error_reason: 'nonce_mismatch' },
    'and the old nonce no longer works',
  )
  t.match((await sts.app.inject({ method: 'GET', url, headers: sts.admin })).json(), {
    registration: { firstSeen: '2024-06-12T12:01:00.000Z', attestations: 1 },
  })
})

t.test('with reattestation: never, a refused request does not spend the registration', async (t) => {
  const sts = await startTestService(t, {
    now: Date.parse('2024-06-12T12:00:00Z'),
    config: { attestors: [{ kind: 'aws', name: 'prod-aws', accounts: ['975050371289'], reattestation: 'never' }] },
  })
  await sts.createGrant({ subject: SUBJECT, audiences: ['artifacts'], maxTtlSeconds: 600, owner: 'team-build' })
  const exchange = (params: Record<string, string>, subjectToken: object = { document, signature }) =>
    sts.exchange({
      grant_type: TOKEN_EXCHANGE,
      subject_token: JSON.stringify(subjectToken),
      subject_token_type: AWS_TYPE,
      audience: 'artifacts',
      ...params,
    })

  const tooLong = await exchange({ expires_in: '601' })
  t.equal(tooLong.statusCode, 400)
  t.same(tooLong.body, {
    error: 'invalid_request',
    error_description: 'expires_in 601 is longer than the 600 seconds allowed for this token',
    error_reason: 'requested_lifetime_too_long',
  })
  const retry = await exchange({ expires_in: '600' })
  t.equal(retry.statusCode, 200, String(retry.body.error_description ?? 'issued'))
  t.equal(retry.body.expires_in, 600)
  // Wrapped as IMDS serves it: the same signed document, so the same attestation, refused as such.
  const wrapped = signature.replace(/(.{64})/g, '$1\n')
  t.same((await exchange({}, { document, signature: wrapped })).body, {
    error: 'invalid_grant',
    error_description:
      'instance 975050371289/us-east-1/i-0b02d936754a6d637 has attested already, and this attestor allows one attestation per instance',
    error_reason: 'instance_already_attested',
  })
})

t.test('the ledger fingerprints the signed document, however its signature is wrapped', async (t) => {
  const sts = await startTestService(t, {
    now: Date.parse('2024-06-12T12:00:00Z'),
    config: { attestors: [{ kind: 'aws', name: 'prod-aws', accounts: ['975050371289'], reattestation: 'always' }] },
  })
  await sts.createGrant({ subject: SUBJECT, audiences: ['artifacts'], owner: 'team-build' })
  const jtis: string[] = []
  for (const form of [signature, signature.replace(/(.{64})/g, '$1\n'), ` ${signature.replace(/(.{76})/g, '$1\r\n')} `]) {
    const issued = await sts.exchange({
      grant_type: TOKEN_EXCHANGE,
      subject_token: JSON.stringify({ document, signature: form }),
      subject_token_type: AWS_TYPE,
      audience: 'artifacts',
    })
    t.equal(issued.statusCode, 200, String(issued.body.error_description ?? 'issued'))
    jtis.push(JSON.parse(Buffer.from(String(issued.body.access_token).split('.')[1], 'base64url').toString()).jti)
  }
  const fingerprints = await Promise.all(jtis.map(async (jti) => (await sts.services.ledger.get(jti))?.attestationFingerprint))
  const signed = createHash('sha256').update(document).digest('base64url')
  t.same(fingerprints, [signed, signed, signed])
})
