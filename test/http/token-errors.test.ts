import t from 'tap'
import { JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN } from '../support/service.js'

/** Bad input gets a precise RFC 6749 error, never a 500, never a token, never a ledger row. */
t.test('malformed token requests', async (t) => {
  const sts = await startTestService(t, { config: { limits: { maxAttestationBytes: 4096, maxBodyBytes: 16_384 } } })
  await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  const attestation = await sts.cluster.serviceAccountToken()
  const valid = { grant_type: TOKEN_EXCHANGE, subject_token: attestation, subject_token_type: JWT_TOKEN_TYPE }

  const post = async (payload: string, contentType = 'application/x-www-form-urlencoded') => {
    const response = await sts.app.inject({ method: 'POST', url: '/oauth2/token', headers: { 'content-type': contentType }, payload })
    return { status: response.statusCode, body: response.json<Record<string, unknown>>(), headers: response.headers }
  }
  const form = (params: Record<string, string>) => new URLSearchParams(params).toString()
  const without = (name: string) => Object.fromEntries(Object.entries(valid).filter(([key]) => key !== name))

  const cases: [string, string, number, Record<string, string>, string?][] = [
    [
      'no grant_type',
      form(without('grant_type')),
      400,
      { error: 'invalid_request', error_description: 'grant_type is required', error_reason: 'parameter_missing' },
    ],
    [
      'another grant type',
      form({ ...valid, grant_type: 'client_credentials' }),
      400,
      { error: 'unsupported_grant_type', error_description: `only ${TOKEN_EXCHANGE} is supported`, error_reason: 'grant_type_unsupported' },
    ],
    [
      'no subject_token',
      form(without('subject_token')),
      400,
      { error: 'invalid_request', error_description: 'subject_token is required', error_reason: 'parameter_missing' },
    ],
    [
      'no subject_token_type',
      form(without('subject_token_type')),
      400,
      { error: 'invalid_request', error_description: 'subject_token_type is required', error_reason: 'parameter_missing' },
    ],
    [
      'an unsupported subject_token_type',
      form({ ...valid, subject_token_type: 'urn:ietf:params:oauth:token-type:saml2' }),
      400,
      {
        error: 'invalid_request',
        error_description:
          'subject_token_type must be one of urn:ietf:params:oauth:token-type:jwt, urn:ietf:params:oauth:token-type:id_token, urn:seed-sts:token-type:aws-instance-identity, urn:seed-sts:token-type:azure-attested-data',
        error_reason: 'parameter_invalid',
      },
    ],
    [
      'a parameter sent twice',
      `${form(valid)}&subject_token=again`,
      400,
      { error: 'invalid_request', error_description: 'subject_token must appear once', error_reason: 'parameter_repeated' },
    ],
    [
      'two audiences',
      `${form(valid)}&audience=a&audience=b`,
      400,
      { error: 'invalid_target', error_description: 'one audience per request', error_reason: 'parameter_repeated' },
    ],
    [
      'an oversized actor token',
      form({ ...valid, actor_token: 'a'.repeat(5000), actor_token_type: JWT_TOKEN_TYPE }),
      400,
      { error: 'invalid_request', error_description: 'actor_token is larger than 4096 bytes', error_reason: 'attestation_too_large' },
    ],
    [
      'a malformed scope',
      form({ ...valid, scope: 'read "all"' }),
      400,
      { error: 'invalid_scope', error_description: 'scope ""all"" is not a valid scope token', error_reason: 'scope_malformed' },
    ],
    [
      'an oversized attestation',
      form({ ...valid, subject_token: 'a'.repeat(5000) }),
      400,
      { error: 'invalid_request', error_description: 'subject_token is larger than 4096 bytes', error_reason: 'attestation_too_large' },
    ],
    [
      'an oversized body',
      form({ ...valid, padding: 'a'.repeat(20_000) }),
      413,
      { error: 'invalid_request', error_description: 'Request body is too large', error_reason: 'body_too_large' },
    ],
    ['a JSON body', JSON.stringify(valid), 415, { error: 'invalid_request', error_reason: 'media_type_unsupported' }, 'application/json'],
    ['an unknown content type', form(valid), 415, { error: 'invalid_request', error_reason: 'media_type_unsupported' }, 'text/plain'],
    [
      'an empty body',
      '',
      400,
      { error: 'invalid_request', error_description: 'grant_type is required', error_reason: 'parameter_missing' },
    ],
    [
      'garbage for an attestation',
      form({ ...valid, subject_token: 'not-a-jwt' }),
      400,
      { error: 'invalid_grant', error_reason: 'attestation_malformed' },
    ],
    [
      'a known token type no attestor takes',
      form({ ...valid, subject_token_type: 'urn:seed-sts:token-type:aws-instance-identity' }),
      400,
      {
        error: 'invalid_request',
        error_description: 'no attestor is configured for subject_token_type "urn:seed-sts:token-type:aws-instance-identity"',
        error_reason: 'token_type_unsupported',
      },
    ],
    [
      'an attestation of another issuer',
      form({ ...valid, subject_token: forgeIssuer(attestation, 'https://evil.example') }),
      400,
      { error: 'invalid_grant', error_reason: 'issuer_unknown' },
    ],
    [
      'a tampered attestation',
      form({ ...valid, subject_token: tamper(attestation) }),
      400,
      { error: 'invalid_grant', error_reason: 'signature_invalid' },
    ],
  ]
  for (const [name, payload, status, body, contentType] of cases) {
    const response = await post(payload, contentType)
    t.equal(response.status, status, `${name}: status`)
    t.match(response.body, body, `${name}: body`)
    t.type(response.body.error_description, 'string', `${name}: says what is wrong`)
    t.notOk('access_token' in response.body, `${name}: no token`)
    t.equal(response.headers['cache-control'], 'no-store', `${name}: not cached`)
  }

  t.test('the wrong method or path answers in OAuth form, not as a 500', async (t) => {
    const response = await sts.app.inject({ method: 'GET', url: '/oauth2/token?subject_token=abc' })
    t.equal(response.statusCode, 404)
    t.same(response.json(), {
      error: 'invalid_request',
      error_description: 'no route for GET /oauth2/token',
      error_reason: 'route_not_found',
    })
  })

  t.test('random bytes never make a 500', async (t) => {
    for (let i = 0; i < 50; i++) {
      const junk = Buffer.from(Array.from({ length: 200 }, () => Math.floor(Math.random() * 256))).toString('latin1')
      const response = await post(
        `grant_type=${encodeURIComponent(TOKEN_EXCHANGE)}&subject_token_type=${encodeURIComponent(JWT_TOKEN_TYPE)}&subject_token=${junk}`,
      )
      t.equal(response.status < 500, true, 'a 4xx')
    }
  })

  t.same((await sts.services.ledger.search({ limit: 100 }, new Date(sts.clock.now()))).items, [], 'no refusal left a ledger row')
})

function forgeIssuer(token: string, issuer: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  return `${header}.${Buffer.from(JSON.stringify({ ...claims, iss: issuer })).toString('base64url')}.${signature}`
}

function tamper(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  claims['kubernetes.io'].namespace = 'kube-system'
  claims.sub = 'system:serviceaccount:kube-system:api'
  return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`
}
