import { generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { TokenSigner } from '../../src/tokens/token-signer.js'
import { ISSUER, JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN } from '../support/service.js'
import { signWith } from '../support/signing.js'

const SUBJECT = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`

t.test('introspection (RFC 7662) says active for a live token and false once anything about it is revoked', async (t) => {
  const sts = await startTestService(t)
  const grant = await sts.createGrant({ subject: SUBJECT, audiences: ['ledger-api'], scopes: ['ledger:read'], owner: 'team-payments' })
  const issue = async () =>
    String(
      (
        await sts.exchange({
          grant_type: TOKEN_EXCHANGE,
          subject_token: await sts.cluster.serviceAccountToken(),
          subject_token_type: JWT_TOKEN_TYPE,
        })
      ).body.access_token,
    )
  const reader = await sts.app.inject({
    method: 'POST',
    url: '/v1/admin-tokens',
    headers: sts.admin,
    payload: { name: 'ledger-api', roles: ['introspect'] },
  })
  const resourceServer = { authorization: `Bearer ${reader.json().token}`, 'content-type': 'application/x-www-form-urlencoded' }
  const introspect = async (token: string, headers: Record<string, string> = resourceServer) => {
    const response = await sts.app.inject({
      method: 'POST',
      url: '/oauth2/introspect',
      headers,
      payload: new URLSearchParams({ token, token_type_hint: 'access_token' }).toString(),
    })
    return {
      status: response.statusCode,
      body: response.json(),
      cacheControl: response.headers['cache-control'],
      challenge: response.headers['www-authenticate'],
    }
  }

  const token = await issue()
  const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
  const active = await introspect(token)
  t.equal(active.status, 200)
  t.equal(active.cacheControl, 'no-store')
  t.same(active.body, { active: true, ...payload, token_type: 'Bearer' })
  t.equal(active.body.iss, ISSUER)

  const revokeAndCheck = async (kind: string, valueFor: (jti: string) => string) => {
    const fresh = await issue()
    t.equal((await introspect(fresh)).body.active, true)
    const value = valueFor(JSON.parse(Buffer.from(fresh.split('.')[1], 'base64url').toString()).jti)
    const revoked = await sts.app.inject({
      method: 'POST',
      url: '/v1/revocations',
      headers: sts.admin,
      payload: { kind, value, reason: 'test' },
    })
    t.same((await introspect(fresh)).body, { active: false }, `inactive once its ${kind} is revoked`)
    await sts.app.inject({
      method: 'DELETE',
      url: `/v1/revocations/${revoked.json().revocation.id}`,
      headers: sts.admin,
      payload: { reason: 'over' },
    })
  }
  await revokeAndCheck('token', (jti) => jti)
  await revokeAndCheck('subject', () => `spiffe://${TRUST_DOMAIN}/k8s/prod/**`)
  await revokeAndCheck('grant', () => grant.id as string)
  await revokeAndCheck('source', () => 'k8s:prod:pod:9a8b7c6d-0000-4000-8000-000000000002')

  sts.clock.advance(301_000)
  t.same((await introspect(token)).body, { active: false }, 'inactive once expired')

  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const ourKid = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).kid
  const forged = await signWith(privateKey, ourKid, 'ES256', { ...payload, exp: payload.exp + 3600 })
  t.same((await introspect(forged)).body, { active: false }, 'a token signed by another key is not ours')
  for (const junk of ['not-a-token', 'a.b.c', `${token}x`])
    t.same((await introspect(junk)).body, { active: false }, `junk: ${junk.slice(0, 12)}`)

  const anonymous = await introspect(token, { 'content-type': 'application/x-www-form-urlencoded' })
  t.equal(anonymous.status, 401)
  t.same(anonymous.body, {
    error: 'invalid_token',
    error_description: 'an admin bearer token is required (Authorization: Bearer <token>)',
    error_reason: 'admin_token_missing',
  })
  t.equal(anonymous.challenge, 'Bearer error="invalid_token"')
  const wrongRole = await sts.app.inject({
    method: 'POST',
    url: '/v1/admin-tokens',
    headers: sts.admin,
    payload: { name: 'grant-reader', roles: ['grants:read'] },
  })
  const forbidden = await introspect(token, {
    authorization: `Bearer ${wrongRole.json().token}`,
    'content-type': 'application/x-www-form-urlencoded',
  })
  t.equal(forbidden.status, 403)
  t.match(forbidden.body, { error: 'insufficient_scope', error_reason: 'role_missing' })
  const missing = await sts.app.inject({
    method: 'POST',
    url: '/oauth2/introspect',
    headers: resourceServer,
    payload: 'token_type_hint=access_token',
  })
  t.same(missing.json(), { error: 'invalid_request', error_description: 'token is required, once', error_reason: 'parameter_missing' })
  const twice = await sts.app.inject({
    method: 'POST',
    url: '/oauth2/introspect',
    headers: resourceServer,
    payload: `token=${token}&token=${token}`,
  })
  t.same(twice.json(), { error: 'invalid_request', error_description: 'token is required, once', error_reason: 'parameter_repeated' })
  const json = await sts.app.inject({
    method: 'POST',
    url: '/oauth2/introspect',
    headers: { authorization: resourceServer.authorization },
    payload: { token },
  })
  t.equal(json.statusCode, 415)
  t.same(json.json(), {
    error: 'invalid_request',
    error_description: 'the body must be application/x-www-form-urlencoded',
    error_reason: 'media_type_unsupported',
  })
})

t.test('introspection answers from the ledger: a token signed with our key that disagrees with its ledger entry is inactive', async (t) => {
  const logLines: string[] = []
  const sts = await startTestService(t, { logLines })
  await sts.createGrant({ subject: SUBJECT, audiences: ['ledger-api'], scopes: ['ledger:read', 'ledger:write'], owner: 'team-payments' })
  const issued = await sts.exchange({
    grant_type: TOKEN_EXCHANGE,
    subject_token: await sts.cluster.serviceAccountToken(),
    subject_token_type: JWT_TOKEN_TYPE,
    scope: 'ledger:read',
  })
  const token = String(issued.body.access_token)
  const payload = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
  const headers = { ...sts.admin, 'content-type': 'application/x-www-form-urlencoded' }
  const introspect = async (candidate: string) =>
    (
      await sts.app.inject({
        method: 'POST',
        url: '/oauth2/introspect',
        headers,
        payload: new URLSearchParams({ token: candidate }).toString(),
      })
    ).json()
  t.same(await introspect(token), { active: true, ...payload, token_type: 'Bearer' }, 'the real token is active')

  // Signed with the service's own key (as a leaked key or a bug would), reusing the real jti.
  const ourKey = new TokenSigner(sts.services.keys, sts.services.signer)
  const other = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/admin`
  const forgeries: Array<[string, Record<string, unknown>, string]> = [
    ['another sub', { ...payload, sub: other }, 'sub'],
    ['another sub and client', { ...payload, sub: other, client_id: other }, 'sub,client_id'],
    ['another audience', { ...payload, aud: 'billing-api' }, 'aud'],
    ['a wider scope', { ...payload, scope: 'ledger:read ledger:write' }, 'scope'],
    ['no scope where one was granted', { ...payload, scope: undefined }, 'scope'],
    ['a later exp', { ...payload, exp: payload.exp + 3600 }, 'exp'],
    ['another iat', { ...payload, iat: payload.iat - 60, nbf: payload.nbf - 60 }, 'iat'],
    // What resource servers decide grant and source revocations on, offline.
    ['no grant', { ...payload, grants: [] }, 'grants'],
    ['a source left out', { ...payload, src_h: payload.src_h.slice(1) }, 'src_h'],
  ]
  for (const [what, claims, disagreeing] of forgeries) {
    const forged = await ourKey.sign(sts.services.keys.signingKey(), JSON.parse(JSON.stringify(claims)))
    t.same(await introspect(forged), { active: false }, `${what}: inactive`)
    const warning = logLines
      .map((line) => JSON.parse(line))
      .find(
        (line) =>
          line.msg === 'introspected token disagrees with its ledger entry: answered inactive' &&
          line.disagreeing.join(',') === disagreeing,
      )
    t.ok(warning, `${what}: a warning names ${disagreeing}`)
    t.equal(warning?.jti, payload.jti)
    t.notOk(
      logLines.some((line) => line.includes(forged)),
      `${what}: the token is never logged`,
    )
  }
  t.same(await introspect(token), { active: true, ...payload, token_type: 'Bearer' }, 'the real token is still active')
})
