import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import t from 'tap'
import { eventually } from '../support/eventually.js'
import { ISSUER, JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN } from '../support/service.js'

const SUBJECT = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`

t.test('a workload exchanges its projected token for a scoped access token over real HTTP', async (t) => {
  const sts = await startTestService(t)
  const grant = await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/*`,
    audiences: ['ledger-api'],
    scopes: ['ledger:read', 'ledger:write'],
    maxTtlSeconds: 600,
    owner: 'team-payments',
  })
  const address = await sts.app.listen({ host: '127.0.0.1', port: 0 })
  const response = await fetch(`${address}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: TOKEN_EXCHANGE,
      subject_token: await sts.cluster.serviceAccountToken(),
      subject_token_type: JWT_TOKEN_TYPE,
      audience: 'ledger-api',
      scope: 'ledger:read',
    }),
  })
  t.equal(response.status, 200)
  t.equal(response.headers.get('cache-control'), 'no-store')
  const body = (await response.json()) as Record<string, unknown>
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'issued_token_type', 'scope', 'token_type'])
  t.equal(body.token_type, 'Bearer')
  t.equal(body.issued_token_type, 'urn:ietf:params:oauth:token-type:access_token')
  t.equal(body.expires_in, 300)
  t.equal(body.scope, 'ledger:read')

  const token = body.access_token as string
  const header = decodeProtectedHeader(token)
  t.equal(header.typ, 'at+jwt')
  t.equal(header.alg, 'ES256')
  const jwks = (await (await fetch(`${address}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }
  t.equal(header.kid, jwks.keys[0].kid)
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
    issuer: ISSUER,
    audience: 'ledger-api',
    typ: 'at+jwt',
    currentDate: new Date(sts.clock.now()),
  })
  t.equal(payload.sub, SUBJECT)
  t.equal(payload.client_id, SUBJECT)
  t.equal(payload.scope, 'ledger:read')
  t.equal(payload.exp! - payload.iat!, 300)
  t.equal(payload.nbf, payload.iat)
  t.equal(payload.iat, Math.floor(sts.clock.now() / 1000))
  t.match(payload.jti, /^[0-9a-f-]{36}$/)

  const entry = await sts.services.ledger.get(payload.jti!)
  t.ok(entry, 'the issued token is on the ledger')
  t.equal(entry!.subject, SUBJECT)
  t.equal(entry!.attestor, 'prod')
  t.equal(entry!.attestorKind, 'kubernetes')
  t.equal(entry!.audience, 'ledger-api')
  t.same(entry!.scopes, ['ledger:read'])
  t.same(entry!.grantIds, [grant.id])
  t.equal(entry!.expiresAt.getTime(), payload.exp! * 1000)
  t.equal(entry!.clientAddress, '127.0.0.1')
  t.match(entry!.attestationFingerprint, /^[A-Za-z0-9_-]{43}$/)
  t.same(entry!.sources, ['k8s:prod', 'k8s:prod:node:node-a', 'k8s:prod:pod:9a8b7c6d-0000-4000-8000-000000000002'])
})

t.test('what the grants allow decides the token, and nothing outside them is given', async (t) => {
  const sts = await startTestService(t)
  const attestation = await sts.cluster.serviceAccountToken()
  const exchange = (extra: Record<string, string> = {}) =>
    sts.exchange({ grant_type: TOKEN_EXCHANGE, subject_token: attestation, subject_token_type: JWT_TOKEN_TYPE, ...extra })

  await t.test('no grant at all: invalid_grant, and nothing on the ledger', async (t) => {
    const response = await exchange({ audience: 'ledger-api' })
    t.equal(response.statusCode, 400)
    t.same(response.body, {
      error: 'invalid_grant',
      error_description: `no grant allows ${SUBJECT} to get a token`,
      error_reason: 'not_granted',
    })
    t.equal(response.headers['cache-control'], 'no-store')
    t.same((await sts.services.ledger.search({ limit: 100 }, new Date(sts.clock.now()))).items, [])
  })

  const grant = await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`,
    conditions: { podName: 'api-*', nodeName: ['node-a', 'node-b'] },
    audiences: ['ledger-api'],
    scopes: ['ledger:read', 'ledger:write'],
    maxTtlSeconds: 120,
    owner: 'team-payments',
  })

  await t.test('no scope asked for: the grant scopes, for at most the grant lifetime', async (t) => {
    const response = await exchange({ audience: 'ledger-api' })
    t.equal(response.statusCode, 200)
    t.equal(response.body.scope, 'ledger:read ledger:write')
    t.equal(response.body.expires_in, 120)
  })

  await t.test('a shorter lifetime may be asked for; a longer one than the grants allow is refused', async (t) => {
    const shorter = await exchange({ audience: 'ledger-api', expires_in: '60' })
    t.equal(shorter.body.expires_in, 60)
    const payload = decodePayload(shorter.body.access_token)
    t.equal((payload.exp as number) - (payload.iat as number), 60)
    const longer = await exchange({ audience: 'ledger-api', expires_in: '121' })
    t.same(longer.body, {
      error: 'invalid_request',
      error_description: 'expires_in 121 is longer than the 120 seconds allowed for this token',
      error_reason: 'requested_lifetime_too_long',
    })
    const malformed = await exchange({ audience: 'ledger-api', expires_in: '1.5' })
    t.same(malformed.body, {
      error: 'invalid_request',
      error_description: 'expires_in must be a whole number of seconds',
      error_reason: 'parameter_invalid',
    })
  })

  await t.test('no audience asked for: the only granted audience', async (t) => {
    const response = await exchange()
    t.equal(response.statusCode, 200)
    t.equal(decodePayload(response.body.access_token).aud, 'ledger-api')
  })

  await t.test('a scope outside the grant is refused, not narrowed', async (t) => {
    const response = await exchange({ audience: 'ledger-api', scope: 'ledger:read ledger:admin' })
    t.same(response.body, {
      error: 'invalid_scope',
      error_description: `scope "ledger:admin" is not granted to ${SUBJECT} for audience "ledger-api"`,
      error_reason: 'scope_not_granted',
    })
  })

  await t.test('an audience outside the grant is refused', async (t) => {
    const response = await exchange({ audience: 'billing-api' })
    t.same(response.body, {
      error: 'invalid_target',
      error_description: `audience "billing-api" is not granted to ${SUBJECT}`,
      error_reason: 'audience_not_granted',
    })
  })

  await t.test('conditions on attestation claims must all hold', async (t) => {
    const otherPod = await sts.cluster.serviceAccountToken({ pod: { name: 'worker-1', uid: 'u-1' } })
    const response = await sts.exchange({ grant_type: TOKEN_EXCHANGE, subject_token: otherPod, subject_token_type: JWT_TOKEN_TYPE })
    t.match(response.body, { error: 'invalid_grant', error_reason: 'not_granted' })
  })

  await t.test('a jwt can be asked for instead of an access token', async (t) => {
    const response = await exchange({ requested_token_type: JWT_TOKEN_TYPE })
    t.equal(response.statusCode, 200)
    t.equal(response.body.issued_token_type, JWT_TOKEN_TYPE)
  })

  await t.test('a second grant adds an audience; then the audience must be named', async (t) => {
    await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['metrics'], owner: 'team-observability' })
    const ambiguous = await exchange()
    t.same(ambiguous.body, {
      error: 'invalid_request',
      error_description: `the audience parameter is required: ${SUBJECT} is granted 2 audiences`,
      error_reason: 'audience_required',
    })
    const named = await exchange({ audience: 'metrics' })
    t.equal(named.statusCode, 200)
    t.notOk('scope' in named.body, 'no scope granted: no scope field')
    t.notOk('scope' in decodePayload(named.body.access_token), 'and no scope claim')
    t.equal(named.body.expires_in, 300)
  })

  await t.test('a disabled grant grants nothing', async (t) => {
    const deleted = await sts.app.inject({ method: 'DELETE', url: `/v1/grants/${grant.id}`, headers: sts.admin })
    t.equal(deleted.statusCode, 200)
    const response = await exchange({ audience: 'ledger-api' })
    t.same(response.body, {
      error: 'invalid_target',
      error_description: `audience "ledger-api" is not granted to ${SUBJECT}`,
      error_reason: 'audience_not_granted',
    })
  })
})

t.test('an expired grant grants nothing', async (t) => {
  const sts = await startTestService(t)
  const expiresAt = new Date(sts.clock.now() + 60_000).toISOString()
  await sts.createGrant({ subject: SUBJECT, audiences: ['ledger-api'], owner: 'team-payments', expiresAt })
  const attestation = await sts.cluster.serviceAccountToken()
  const request = { grant_type: TOKEN_EXCHANGE, subject_token: attestation, subject_token_type: JWT_TOKEN_TYPE }
  t.equal((await sts.exchange(request)).statusCode, 200)
  sts.clock.advance(61_000)
  t.same((await sts.exchange(request)).body, {
    error: 'invalid_grant',
    error_description: `no grant allows ${SUBJECT} to get a token`,
    error_reason: 'not_granted',
  })
})

t.test('revoked subjects, grants and attestation sources get no token', async (t) => {
  const sts = await startTestService(t)
  const grant = await sts.createGrant({ subject: SUBJECT, audiences: ['ledger-api'], owner: 'team-payments' })
  const request = { grant_type: TOKEN_EXCHANGE, subject_token: await sts.cluster.serviceAccountToken(), subject_token_type: JWT_TOKEN_TYPE }
  const cases = [
    { target: { kind: 'subject', value: SUBJECT }, description: `the identity ${SUBJECT} is revoked` },
    { target: { kind: 'grant', value: grant.id as string }, description: `grant ${grant.id} is revoked` },
    { target: { kind: 'source', value: 'k8s:prod:node:node-a' }, description: 'the attestation source k8s:prod:node:node-a is revoked' },
  ] as const
  const responder = { name: 'responder', requestId: null }
  for (const { target, description } of cases) {
    const { revocation } = await sts.services.revocationService.revoke({ ...target, reason: 'test' }, responder)
    t.same((await sts.exchange(request)).body, { error: 'invalid_grant', error_description: description, error_reason: 'revoked' })
    await sts.services.revocationService.lift(revocation.id, 'test over', responder)
  }
  t.equal((await sts.exchange(request)).statusCode, 200, 'lifting the revocations restores access')
  t.equal(
    (await sts.services.ledger.search({ limit: 100 }, new Date(sts.clock.now()))).items.length,
    1,
    'only the issued token is on the ledger',
  )
})

t.test('the same exchange works on the embedded backends (PGlite, in-process revocations)', async (t) => {
  const sts = await startTestService(t, { backend: 'embedded' })
  t.equal(sts.services.database.kind, 'pglite')
  await sts.createGrant({ subject: SUBJECT, audiences: ['ledger-api'], scopes: ['ledger:read'], owner: 'team-payments' })
  const response = await sts.exchange({
    grant_type: TOKEN_EXCHANGE,
    subject_token: await sts.cluster.serviceAccountToken(),
    subject_token_type: JWT_TOKEN_TYPE,
    audience: 'ledger-api',
  })
  t.equal(response.statusCode, 200)
  const entry = await sts.services.ledger.get(decodePayload(response.body.access_token).jti as string)
  t.equal(entry?.subject, SUBJECT)
})

function decodePayload(token: unknown): Record<string, unknown> {
  return JSON.parse(Buffer.from(String(token).split('.')[1], 'base64url').toString('utf8'))
}

t.test('a cluster configured for single-use tokens accepts each token once', async (t) => {
  const sts = await startTestService(t)
  // Reconfigure: the same cluster, single-use on.
  const single = await startTestService(t, {
    databaseUrl: sts.databaseUrl,
    cluster: sts.cluster,
    config: { attestors: [{ kind: 'kubernetes', name: 'prod', issuer: sts.cluster.issuer, jwks: sts.cluster.jwks, singleUse: true }] },
  })
  await single.createGrant({ subject: SUBJECT, audiences: ['ledger-api'], owner: 'team-payments' })
  const request = { grant_type: TOKEN_EXCHANGE, subject_token: await sts.cluster.serviceAccountToken(), subject_token_type: JWT_TOKEN_TYPE }
  t.equal((await single.exchange(request)).statusCode, 200)
  t.same((await single.exchange(request)).body, {
    error: 'invalid_grant',
    error_description: 'this attestation was already used: single-use attestations are accepted once',
    error_reason: 'replayed',
  })
  // The grant made through `single` reaches `sts` at its next catch-up (they share the database, not a Redis prefix).
  const again = await eventually(t, async () => (await sts.exchange(request)).statusCode, { until: (status) => status === 200 })
  t.equal(again, 200, 'a cluster without single use accepts the same token again')
  const fresh = await sts.cluster.serviceAccountToken({ issuedAt: Math.floor(sts.clock.now() / 1000) - 1 })
  t.equal((await single.exchange({ ...request, subject_token: fresh })).statusCode, 200, 'a new token is a new attestation')
  t.equal(
    (await single.services.ledger.search({ limit: 10 }, new Date(single.clock.now()))).items.length,
    3,
    'no ledger row for the replay',
  )
})
