import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import * as oauth from 'openid-client'
import t from 'tap'
import { buildApp } from '../../src/app.js'
import { composeServices } from '../../src/compose.js'
import { loadConfig, parseConfig } from '../../src/config.js'
import { createLogger } from '../../src/lib/logger.js'
import { freePort } from '../support/ports.js'
import { JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN } from '../support/service.js'

/** "A standard OAuth client library must be able to discover the service and perform the exchange." */
for (const algorithm of ['oidc', 'oauth2'] as const) {
  t.test(`openid-client discovers the service (${algorithm} metadata path) and exchanges a token`, async (t) => {
    const port = await freePort()
    const issuer = `http://127.0.0.1:${port}`
    const sts = await startTestService(t, { config: { issuer } })
    await sts.app.listen({ host: '127.0.0.1', port })
    await sts.createGrant({
      subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`,
      audiences: ['ledger-api'],
      scopes: ['ledger:read'],
      owner: 'team-payments',
    })

    // allowInsecureRequests only because this test server speaks plain HTTP on loopback.
    const config = await oauth.discovery(new URL(issuer), 'payments-api', undefined, oauth.None(), {
      algorithm,
      execute: [oauth.allowInsecureRequests],
    })
    t.equal(config.serverMetadata().token_endpoint, `${issuer}/oauth2/token`)
    t.same(config.serverMetadata().grant_types_supported, [TOKEN_EXCHANGE])

    const response = await oauth.genericGrantRequest(config, TOKEN_EXCHANGE, {
      subject_token: await sts.cluster.serviceAccountToken(),
      subject_token_type: JWT_TOKEN_TYPE,
      audience: 'ledger-api',
      scope: 'ledger:read',
    })
    t.equal(response.token_type, 'bearer')
    t.equal(response.expires_in, 300)
    t.equal(response.scope, 'ledger:read')

    const jwks = createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri!))
    const { payload, protectedHeader } = await jwtVerify(response.access_token, jwks, {
      issuer,
      audience: 'ledger-api',
      typ: 'at+jwt',
      currentDate: new Date(sts.clock.now()),
    })
    t.equal(protectedHeader.alg, 'ES256')
    t.equal(payload.sub, `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`)

    const refusal = await oauth
      .genericGrantRequest(config, TOKEN_EXCHANGE, { subject_token: 'not-a-jwt', subject_token_type: JWT_TOKEN_TYPE })
      .catch((error: unknown) => error)
    t.match(refusal, { error: 'invalid_grant', status: 400 }, 'errors reach the client library as OAuth errors')
  })
}

t.test('the metadata names what the service supports, and the JWKS only public keys', async (t) => {
  const sts = await startTestService(t)
  const metadata = (await sts.app.inject({ method: 'GET', url: '/.well-known/oauth-authorization-server' })).json()
  t.same(metadata, {
    issuer: 'https://sts.test.example',
    token_endpoint: 'https://sts.test.example/oauth2/token',
    jwks_uri: 'https://sts.test.example/.well-known/jwks.json',
    introspection_endpoint: 'https://sts.test.example/oauth2/introspect',
    revocation_endpoint: 'https://sts.test.example/oauth2/revoke',
    revocation_endpoint_auth_methods_supported: ['none'],
    grant_types_supported: [TOKEN_EXCHANGE],
    response_types_supported: ['none'],
    token_endpoint_auth_methods_supported: ['none'],
    subject_token_types_supported: [
      JWT_TOKEN_TYPE,
      'urn:ietf:params:oauth:token-type:id_token',
      'urn:ietf:params:oauth:token-type:access_token',
    ],
    requested_token_types_supported: ['urn:ietf:params:oauth:token-type:access_token', JWT_TOKEN_TYPE],
    access_token_signing_alg_values_supported: ['ES256'],
    dpop_signing_alg_values_supported: ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'],
  })
  t.same((await sts.app.inject({ method: 'GET', url: '/.well-known/openid-configuration' })).json(), metadata)
  // What RFC 8414 validators (authlib's) check: every member that is an array has elements (§3.2).
  t.same(
    Object.entries(metadata).filter(([, value]) => Array.isArray(value) && value.length === 0),
    [],
  )
  const jwks = await sts.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  t.equal(jwks.headers['cache-control'], 'public, max-age=300')
  for (const key of jwks.json().keys) {
    t.notOk('d' in key, 'no private part')
    t.match(key, { kty: 'EC', crv: 'P-256', use: 'sig', alg: 'ES256', kid: String })
  }
})

t.test('keys.jwksMaxAgeSeconds: the JWKS max-age, and the wait before a new key signs, grow together', async (t) => {
  const sts = await startTestService(t, { config: { keys: { jwksMaxAgeSeconds: 3600 } } })
  const jwks = await sts.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  t.equal(jwks.headers['cache-control'], 'public, max-age=3600')
  const { key } = (await sts.app.inject({ method: 'POST', url: '/v1/keys/rotate', headers: sts.admin })).json()
  t.equal(
    Date.parse(key.activatesAt) - Date.parse(key.publishedAt),
    (3600 + 30 + 60) * 1000,
    'published for the max-age, the staleness bound and the clock skew before it signs',
  )
})

t.test('on the development defaults, discovery names the port and host the service listens on', async (t) => {
  const port = await freePort()
  const loaded = loadConfig({ env: { PORT: String(port), HOST: '127.0.0.1' } })
  t.equal(loaded.usedDevelopmentDefaults, true)
  // Only where keys and data are kept differs from a real start, so the test leaves no files behind.
  const keysDir = mkdtempSync(join(tmpdir(), 'sts-keys-'))
  t.teardown(() => rmSync(keysDir, { recursive: true, force: true }))
  // The parsed redis section carries its derived endpoint, which the file's schema does not take back.
  const { endpoint: _endpoint, ...redis } = loaded.config.redis
  const config = parseConfig({ ...loaded.config, redis, keys: { dir: keysDir }, database: { dataDir: 'memory://' } })
  const services = await composeServices(config, createLogger('silent'))
  const app = await buildApp(services)
  t.teardown(async () => {
    await app.close()
    await services.close()
  })
  await app.listen({ host: config.host, port: config.port })
  const base = `http://127.0.0.1:${port}`
  const metadata = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>
  t.same(
    [metadata.issuer, metadata.token_endpoint, metadata.jwks_uri, metadata.introspection_endpoint, metadata.revocation_endpoint],
    [base, `${base}/oauth2/token`, `${base}/.well-known/jwks.json`, `${base}/oauth2/introspect`, `${base}/oauth2/revoke`],
  )
  t.equal((await fetch(String(metadata.jwks_uri))).status, 200, 'the advertised JWKS answers')
})
