import { createHash, generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import { TokenSigner } from '../../src/tokens/token-signer.js'
import { createTestCluster } from '../support/cluster.js'
import { exchangeWithProof, makeDpopKey, makeProof, nowOf, TOKEN_ENDPOINT, type DpopKey } from '../support/dpop.js'
import { eventually } from '../support/eventually.js'
import { freshPostgresDatabase, REDIS_URL, uniqueRedisPrefix } from '../support/servers.js'
import { ISSUER, JWT_TOKEN_TYPE, NOW, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN, type TestService } from '../support/service.js'
import { signWith } from '../support/signing.js'
import { startTcpProxy } from '../support/tcp-proxy.js'
import { introspect } from '../support/introspect.js'

/** RFC 7009 revocation by the holder of a token, on real Postgres and Redis. */

const SUBJECT = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`
const FORM = { 'content-type': 'application/x-www-form-urlencoded' }
const REVOKE_ENDPOINT = `${ISSUER}/oauth2/revoke`

async function issue(sts: TestService): Promise<string> {
  const issued = await sts.exchange({
    grant_type: TOKEN_EXCHANGE,
    subject_token: await sts.cluster.serviceAccountToken(),
    subject_token_type: JWT_TOKEN_TYPE,
  })
  if (issued.statusCode !== 200) throw new Error(`not issued: ${JSON.stringify(issued.body)}`)
  return String(issued.body.access_token)
}

async function revoke(sts: TestService, body: string, headers: Record<string, string> = FORM) {
  const response = await sts.app.inject({ method: 'POST', url: '/oauth2/revoke', headers, payload: body })
  return { status: response.statusCode, body: response.body, headers: response.headers }
}

/** Every revocation on record, in force or not: what "nothing revoked" is compared on. */
async function revocations(sts: TestService): Promise<Array<Record<string, unknown>>> {
  return (await sts.app.inject({ method: 'GET', url: '/v1/revocations', headers: sts.admin })).json().revocations
}

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())

t.test('a holder revokes its token: every instance treats it as revoked, on record and audited under the holder', async (t) => {
  const shared = {
    databaseUrl: await freshPostgresDatabase(t),
    redisKeyPrefix: uniqueRedisPrefix(),
    cluster: await createTestCluster('prod', Math.floor(NOW / 1000)),
  }
  const logLines: string[] = []
  const a = await startTestService(t, { ...shared, logLines })
  const b = await startTestService(t, shared)
  await a.createGrant({ subject: SUBJECT, audiences: ['ledger-api'], scopes: ['ledger:read'], owner: 'team-payments' })
  const token = await issue(a)
  const other = await issue(a)
  const { jti, exp, sub } = claimsOf(token)
  t.equal(sub, SUBJECT)
  t.equal((await introspect(b, token)).active, true, 'active on b before')

  // An unknown hint is ignored (RFC 7009 section 2.1), not refused.
  const revoked = await revoke(a, new URLSearchParams({ token, token_type_hint: 'refresh_token' }).toString())
  t.equal(revoked.status, 200)
  t.equal(revoked.body, '', 'an empty body')
  t.equal(revoked.headers['cache-control'], 'no-store')
  t.equal((await introspect(a, token)).active, false, 'inactive on the instance that revoked it')
  // The answer waits for every live instance to apply the change: no polling needed.
  t.equal((await introspect(b, token)).active, false, 'inactive on the other instance at once')
  t.equal((await introspect(b, other)).active, true, "the holder's other token is untouched")

  const recorded = await revocations(b)
  t.equal(recorded.length, 1, 'one revocation')
  t.match(recorded[0], {
    kind: 'token',
    value: jti,
    reason: 'revoked by its holder (RFC 7009)',
    createdBy: `holder:${SUBJECT}`,
    expiresAt: new Date(exp * 1000).toISOString(),
    liftedAt: null,
  })
  const audit = (await b.app.inject({ method: 'GET', url: '/v1/audit?targetType=revocation', headers: b.admin })).json().entries
  t.equal(audit.length, 1)
  t.match(audit[0], { actor: `holder:${SUBJECT}`, action: 'revocation.create', targetId: recorded[0].id, requestId: String })
  t.equal(audit[0].requestId, revoked.headers['x-request-id'], 'the audit entry names the request it came in')

  const again = await revoke(b, new URLSearchParams({ token }).toString())
  t.equal(again.status, 200, 'revoking again, on another instance, answers the same')
  t.equal(again.body, '')
  t.same(await revocations(a), recorded, 'and makes no second revocation')

  t.notOk(
    logLines.some((line) => line.includes(token) || line.includes(token.split('.')[2])),
    'the token is never logged',
  )
  const line = logLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'token revoked by its holder')
  t.match(line, { jti, sub: SUBJECT, revocationId: recorded[0].id })
})

t.test('anything that is not a live token of ours answers 200 and revokes nothing', async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({ subject: SUBJECT, audiences: ['ledger-api'], scopes: ['ledger:read'], owner: 'team-payments' })
  const token = await issue(sts)
  const payload = claimsOf(token)
  const ourKid = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).kid
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const ourKey = new TokenSigner(sts.services.keys, sts.services.signer)
  const candidates: Array<[string, string]> = [
    ['signed by another key', await signWith(privateKey, ourKid, 'ES256', payload)],
    // Signed with our own key (a leaked key, a bug) but not as issued: the ledger disagrees.
    ['disagreeing with its ledger entry', await ourKey.sign(sts.services.keys.signingKey(), { ...payload, sub: `${SUBJECT}-admin` })],
    ['another issuer', await ourKey.sign(sts.services.keys.signingKey(), { ...payload, iss: 'https://elsewhere.example' })],
    ['junk', 'not-a-token'],
    ['three junk parts', 'a.b.c'],
    ['tampered', `${token}x`],
  ]
  const before = await revocations(sts)
  for (const [what, candidate] of candidates) {
    const answer = await revoke(sts, new URLSearchParams({ token: candidate }).toString())
    t.same([answer.status, answer.body, answer.headers['cache-control']], [200, '', 'no-store'], `${what}: 200, empty`)
  }
  t.same(await revocations(sts), before, 'nothing revoked')
  t.equal((await introspect(sts, token)).active, true, 'the real token is still active')

  sts.clock.advance((payload.exp - payload.iat + 1) * 1000)
  const expired = await revoke(sts, new URLSearchParams({ token }).toString())
  t.same([expired.status, expired.body], [200, ''], 'an expired token: 200, empty')
  t.same(await revocations(sts), before, 'and nothing revoked')
})

t.test('malformed requests are RFC 6749 errors', async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({ subject: SUBJECT, audiences: ['ledger-api'], owner: 'team-payments' })
  const token = await issue(sts)
  const cases: Array<[string, string, Record<string, string>, number, Record<string, unknown>]> = [
    [
      'missing',
      'token_type_hint=access_token',
      FORM,
      400,
      { error_description: 'token is required, once', error_reason: 'parameter_missing' },
    ],
    ['empty', 'token=', FORM, 400, { error_description: 'token is required, once', error_reason: 'parameter_missing' }],
    [
      'repeated',
      `token=${token}&token=${token}`,
      FORM,
      400,
      { error_description: 'token is required, once', error_reason: 'parameter_repeated' },
    ],
    [
      'JSON',
      JSON.stringify({ token }),
      { 'content-type': 'application/json' },
      415,
      { error_description: 'the body must be application/x-www-form-urlencoded', error_reason: 'media_type_unsupported' },
    ],
  ]
  for (const [what, body, headers, status, error] of cases) {
    const answer = await revoke(sts, body, headers)
    t.equal(answer.status, status, what)
    t.same(JSON.parse(answer.body), { error: 'invalid_request', ...error }, what)
    t.equal(answer.headers['cache-control'], 'no-store', `${what}: not cached`)
  }
  t.same(await revocations(sts), [], 'nothing revoked, not even by the repeated one')
  t.equal((await introspect(sts, token)).active, true)
})

t.test('requests are rate limited per client address (limits.tokenRequestsPerMinute)', async (t) => {
  const sts = await startTestService(t, { config: { limits: { tokenRequestsPerMinute: 2 } } })
  const statuses = []
  for (let i = 0; i < 3; i++) statuses.push((await revoke(sts, 'token=not-a-token')).status)
  t.same(statuses, [200, 200, 429])
  const refused = await revoke(sts, 'token=not-a-token')
  t.match(JSON.parse(refused.body), { error: 'temporarily_unavailable', error_reason: 'rate_limited' })
})

t.test('a DPoP-bound token is revoked only with a proof of its key, made for this endpoint and this token', async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({ subject: SUBJECT, audiences: ['ledger-api'], owner: 'team-payments' })
  const key = await makeDpopKey()
  const issued = await exchangeWithProof(sts, await makeProof(key, nowOf(sts)))
  t.equal(issued.statusCode, 200, JSON.stringify(issued.body))
  const bound = String(issued.body.access_token)
  t.same(claimsOf(bound).cnf, { jkt: key.jkt })
  const ath = createHash('sha256').update(bound).digest('base64url')
  const proof = async (options: { by?: DpopKey; claims?: Record<string, unknown> } = {}) =>
    makeProof(options.by ?? key, nowOf(sts), { claims: { htu: REVOKE_ENDPOINT, ath, ...options.claims } })
  const attempt = (dpop: string | undefined) =>
    revoke(sts, new URLSearchParams({ token: bound }).toString(), dpop === undefined ? FORM : { ...FORM, dpop })

  const invalid = (description: string) => ({
    error: 'invalid_dpop_proof',
    error_description: description,
    error_reason: 'dpop_proof_invalid',
  })
  const refusals: Array<[string, string | undefined, Record<string, string>]> = [
    [
      'no proof',
      undefined,
      {
        error: 'invalid_request',
        error_description:
          'the token is bound to a key (cnf.jkt): send a DPoP proof made with that key for this endpoint, with ath the hash of the token',
        error_reason: 'holder_key_proof_required',
      },
    ],
    [
      'a proof by another key',
      await proof({ by: await makeDpopKey() }),
      invalid('the DPoP proof is made with another key than the one the token is bound to'),
    ],
    [
      'a proof for the token endpoint',
      await proof({ claims: { htu: TOKEN_ENDPOINT } }),
      invalid(`the DPoP proof's htu is "${TOKEN_ENDPOINT}"; this endpoint is ${REVOKE_ENDPOINT}`),
    ],
    [
      'a proof without ath',
      await proof({ claims: { ath: undefined } }),
      invalid("the DPoP proof must have an ath, the access token's SHA-256 (base64url), when it comes with the token"),
    ],
    [
      'a proof for another token',
      await proof({ claims: { ath: createHash('sha256').update('another token').digest('base64url') } }),
      invalid("the DPoP proof's ath is not the SHA-256 of this access token"),
    ],
  ]
  for (const [what, dpop, body] of refusals) {
    const refused = await attempt(dpop)
    t.same([refused.status, JSON.parse(refused.body)], [400, body], what)
    t.equal(refused.headers['cache-control'], 'no-store', `${what}: not cached`)
  }
  t.same(await revocations(sts), [], 'nothing revoked without a proof that holds')
  t.equal((await introspect(sts, bound)).active, true, 'still active')

  const good = await proof()
  const revoked = await attempt(good)
  t.same([revoked.status, revoked.body], [200, ''])
  t.equal((await introspect(sts, bound)).active, false, 'revoked')
  t.same(
    (await revocations(sts)).map((r) => [r.kind, r.value, r.createdBy]),
    [['token', claimsOf(bound).jti, `holder:${SUBJECT}`]],
  )
  const replayed = await attempt(good)
  t.same(
    [replayed.status, JSON.parse(replayed.body)],
    [
      400,
      {
        error: 'invalid_dpop_proof',
        error_description: 'this DPoP proof was already used: make a new proof, with a new jti, for each request',
        error_reason: 'dpop_proof_replayed',
      },
    ],
    'a proof is single-use here too',
  )

  const payload = claimsOf(await issue(sts))
  const malformed = await new TokenSigner(sts.services.keys, sts.services.signer).sign(sts.services.keys.signingKey(), {
    ...payload,
    cnf: { jkt: 42 },
  })
  const unread = await revoke(sts, new URLSearchParams({ token: malformed }).toString())
  t.same([unread.status, unread.body], [200, ''], 'a binding we could not have written: not our token')
})

t.test('the revocation store down: 503 temporarily_unavailable, and nothing is claimed or recorded', async (t) => {
  const redis = new URL(REDIS_URL)
  const proxy = await startTcpProxy(redis.hostname, Number(redis.port || 6379))
  t.teardown(() => proxy.close())
  const sts = await startTestService(t, { redisUrl: proxy.url('redis'), config: { limits: { tokenRequestsPerIdentityPerMinute: 0 } } })
  await sts.createGrant({ subject: SUBJECT, audiences: ['ledger-api'], owner: 'team-payments' })
  const token = await issue(sts)
  proxy.cut()
  const answer = await revoke(sts, new URLSearchParams({ token }).toString())
  t.equal(answer.status, 503)
  t.match(JSON.parse(answer.body), { error: 'temporarily_unavailable', error_reason: 'revocations_unavailable' })
  t.equal(answer.headers['cache-control'], 'no-store')
  // From Postgres itself: with Redis cut, the admin API's own budget (kept in Redis) fails closed too.
  t.same((await sts.services.revocationService.list({ limit: 100 })).items, [], 'no revocation on record')
  proxy.restore()
  const retried = await eventually(t, () => revoke(sts, new URLSearchParams({ token }).toString()), {
    until: (response) => response.status === 200,
    what: 'the retry',
  })
  t.equal(retried.status, 200, 'a retry once the store is back revokes it')
  t.equal((await revocations(sts)).length, 1)
})
