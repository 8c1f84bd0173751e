import t from 'tap'
import { claimsOf, exchangeWithProof, makeDpopKey, makeProof, nowOf, refusal } from '../support/dpop.js'
import { startTestService, TRUST_DOMAIN, type TestService } from '../support/service.js'

/**
 * Grants that require DPoP (`requireDpop`), through the admin API and at the token endpoint, on
 * Postgres and on PGlite: a token is bound whenever a proof is given or a contributing grant requires
 * it, and a bearer request for such a grant is refused.
 */

const SUBJECT_GLOB = `spiffe://${TRUST_DOMAIN}/k8s/prod/**`
const key = await makeDpopKey('ES256')
const DPOP_REQUIRED = {
  error: 'invalid_request',
  error_description: 'a grant for audience "ledger-api" requires DPoP: send a DPoP proof (RFC 9449) with the token request',
  error_reason: 'dpop_required',
}

for (const backend of ['real', 'embedded'] as const) {
  t.test(`requireDpop is stored, shown and replaced (${backend})`, async (t) => {
    const sts = await startTestService(t, { backend })
    const plain = await sts.createGrant({ subject: SUBJECT_GLOB, audiences: ['a'], owner: 'team' })
    t.equal(plain.requireDpop, false, 'false unless asked for')
    const bound = await sts.createGrant({ subject: SUBJECT_GLOB, audiences: ['b'], owner: 'team', requireDpop: true })
    t.equal(bound.requireDpop, true)
    const shown = await sts.app.inject({ method: 'GET', url: `/v1/grants/${String(bound.id)}`, headers: sts.admin })
    t.equal(shown.json().requireDpop, true, 'read back from the store')

    const { requireDpop: _left, ...withoutIt } = shown.json()
    const kept = await replace(sts, bound, withoutIt)
    t.equal(kept.statusCode, 200, kept.body)
    t.equal(kept.json().requireDpop, true, 'left out of a PUT, the grant keeps it')
    const cleared = await replace(sts, kept.json(), { ...kept.json(), requireDpop: false })
    t.equal(cleared.json().requireDpop, false, 'sent false, it is cleared')

    const refused = await sts.app.inject({
      method: 'POST',
      url: '/v1/grants',
      headers: sts.admin,
      payload: { subject: SUBJECT_GLOB, audiences: ['c'], owner: 'team', requireDpop: 'yes' },
    })
    t.equal(refused.statusCode, 400)
    t.match(refused.json().errors, [{ path: 'requireDpop' }])
  })

  t.test(`a grant that requires DPoP refuses a bearer request and binds a proof's token (${backend})`, async (t) => {
    const sts = await startTestService(t, { backend })
    await sts.createGrant({ subject: SUBJECT_GLOB, audiences: ['ledger-api'], scopes: ['ledger:read'], owner: 'team', requireDpop: true })
    refusal(t, await exchangeWithProof(sts, undefined), DPOP_REQUIRED)
    const answer = await exchangeWithProof(sts, await makeProof(key, nowOf(sts)))
    t.equal(answer.statusCode, 200)
    t.equal(answer.body.token_type, 'DPoP')
    const claims = claimsOf(answer.body.access_token)
    t.same(claims.cnf, { jkt: key.jkt })
    t.equal((await sts.services.ledger.get(String(claims.jti)))?.jkt, key.jkt)
  })
}

t.test('a token is bound iff a proof is given or a contributing grant requires it', async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({ subject: SUBJECT_GLOB, audiences: ['ledger-api'], scopes: ['ledger:read'], owner: 'team' })
  await sts.createGrant({ subject: SUBJECT_GLOB, audiences: ['ledger-api'], scopes: ['ledger:write'], owner: 'team', requireDpop: true })
  const bearer = await exchangeWithProof(sts, undefined, { scope: 'ledger:read' })
  t.equal(bearer.statusCode, 200, 'only the grant that does not require DPoP contributes: a bearer token')
  t.equal(bearer.body.token_type, 'Bearer')
  t.notOk('cnf' in claimsOf(bearer.body.access_token))

  const proofOnly = await exchangeWithProof(sts, await makeProof(key, nowOf(sts)), { scope: 'ledger:read' })
  t.equal(proofOnly.body.token_type, 'DPoP', 'a proof binds the token whatever the grants say')
  t.same(claimsOf(proofOnly.body.access_token).cnf, { jkt: key.jkt })

  refusal(t, await exchangeWithProof(sts, undefined, { scope: 'ledger:write' }), DPOP_REQUIRED, 'the requiring grant contributes')
  refusal(t, await exchangeWithProof(sts, undefined), DPOP_REQUIRED, 'all scopes: the requiring grant contributes')
  const both = await exchangeWithProof(sts, await makeProof(key, nowOf(sts)))
  t.equal(both.statusCode, 200)
  // The scopes of two grants made in one millisecond: their order follows the grants' ids, random within it.
  t.same(String(both.body.scope).split(' ').sort(), ['ledger:read', 'ledger:write'])
  t.same(claimsOf(both.body.access_token).cnf, { jkt: key.jkt })
})

function replace(sts: TestService, current: Record<string, unknown>, body: Record<string, unknown>) {
  return sts.app.inject({
    method: 'PUT',
    url: `/v1/grants/${String(current.id)}`,
    headers: { ...sts.admin, 'if-match': `"${String(current.version)}"` },
    payload: body,
  })
}
