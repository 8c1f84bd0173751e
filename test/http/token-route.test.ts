import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import t from 'tap'
import { ISSUER, JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN } from '../helpers/service.js'

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
  const jwks = (await (await fetch(`${address}/.well-known/jwks.json`)).json()) as { keys: [] }
  t.equal(header.kid, (jwks.keys[0] as { kid: string }).kid)
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
