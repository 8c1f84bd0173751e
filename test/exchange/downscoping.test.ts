import t from 'tap'
import { claimsOf, exchangeWithProof, makeDpopKey, makeProof, nowOf, refusal } from '../support/dpop.js'
import { introspect } from '../support/introspect.js'
import { revoke } from '../support/revoke.js'
import { startTestService, TRUST_DOMAIN, type TestService } from '../support/service.js'

/**
 * Downscoping (RFC 8693 with one of our own access tokens as `subject_token`): the token issued keeps
 * its parent's audience, can only narrow its scopes and lifetime, is bound to the parent's key when the
 * parent is bound, is recorded with its parent, and dies with it.
 */

const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token'
const SUBJECT = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`
const key = await makeDpopKey('ES256')
const other = await makeDpopKey('ES256')

async function parentToken(sts: TestService, params: Record<string, string> = {}, proof?: string): Promise<string> {
  const answer = await exchangeWithProof(sts, proof, { audience: 'ledger-api', ...params })
  if (answer.statusCode !== 200) throw new Error(`no parent token: ${JSON.stringify(answer.body)}`)
  return String(answer.body.access_token)
}

function narrow(sts: TestService, parent: string, params: Record<string, string> = {}, proof?: string) {
  return exchangeWithProof(sts, proof, { subject_token: parent, subject_token_type: ACCESS_TOKEN, ...params })
}

for (const backend of ['real', 'embedded'] as const) {
  t.test(
    `a narrower token keeps the audience, takes fewer scopes and a shorter life, and is recorded with its parent (${backend})`,
    async (t) => {
      const sts = await startTestService(t, { backend })
      const grant = await sts.createGrant({
        subject: SUBJECT,
        audiences: ['ledger-api'],
        scopes: ['ledger:read', 'ledger:write'],
        owner: 'team',
      })
      const parent = await parentToken(sts, { expires_in: '600' })
      const parentClaims = claimsOf(parent)
      sts.clock.advance(100_000)

      const answer = await narrow(sts, parent, { scope: 'ledger:read' })
      t.equal(answer.statusCode, 200, String(answer.body.error_description ?? 'issued'))
      const claims = claimsOf(answer.body.access_token)
      const iat = nowOf(sts)
      t.same(claims, {
        iss: parentClaims.iss,
        sub: SUBJECT,
        aud: 'ledger-api',
        exp: iat + 300,
        iat,
        nbf: iat,
        jti: claims.jti,
        client_id: SUBJECT,
        grants: [grant.id],
        src_h: parentClaims.src_h,
        scope: 'ledger:read',
        ancestor_jtis: [parentClaims.jti],
      })
      t.same(answer.body.scope, 'ledger:read')
      const entry = await sts.services.ledger.get(String(claims.jti))
      t.equal(entry?.parentJti, parentClaims.jti, 'the ledger names the parent')
      t.same(entry?.ancestorJtis, [parentClaims.jti])
      t.equal(entry?.subject, SUBJECT)
      t.same(entry?.sources, (await sts.services.ledger.get(String(parentClaims.jti)))?.sources, "the parent's sources")

      const everything = await narrow(sts, parent)
      t.equal(claimsOf(everything.body.access_token).scope, 'ledger:read ledger:write', 'no scope asked for: all of the parent’s')
      const lastMinutes = await narrow(sts, parent, { expires_in: '500' })
      t.equal(lastMinutes.statusCode, 200, 'as long as the parent has left')
      t.equal(claimsOf(lastMinutes.body.access_token).exp, parentClaims.exp)
    },
  )
}

t.test('a downscope that widens is refused', async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({
    subject: SUBJECT,
    audiences: ['ledger-api', 'billing-api'],
    scopes: ['ledger:read', 'ledger:write'],
    owner: 'team',
  })
  const parent = await parentToken(sts, { scope: 'ledger:read', expires_in: '120' })
  refusal(t, await narrow(sts, parent, { audience: 'billing-api' }), {
    error: 'invalid_target',
    error_description: 'a token exchanged from an access token keeps its audience "ledger-api"; "billing-api" was asked for',
    error_reason: 'audience_widened',
  })
  refusal(t, await narrow(sts, parent, { scope: 'ledger:read ledger:write' }), {
    error: 'invalid_scope',
    error_description:
      'scope "ledger:write" is not in the subject_token: a token exchanged from an access token can only narrow its scopes',
    error_reason: 'scope_widened',
  })
  refusal(t, await narrow(sts, parent, { expires_in: '121' }), {
    error: 'invalid_request',
    error_description: 'expires_in 121 is longer than the 120 seconds allowed for this token',
    error_reason: 'requested_lifetime_too_long',
  })
  const same = await narrow(sts, parent, { audience: 'ledger-api' })
  t.equal(same.statusCode, 200, 'naming the same audience is no widening')
  t.equal(claimsOf(same.body.access_token).exp, claimsOf(parent).exp, 'by default no longer than the parent')
})

t.test('anything but an active token of ours is refused', async (t) => {
  const sts = await startTestService(t)
  const grant = await sts.createGrant({ subject: SUBJECT, audiences: ['ledger-api'], owner: 'team' })
  const parent = await parentToken(sts, { expires_in: '60' })
  const inactive = {
    error: 'invalid_grant',
    error_description: "subject_token is not an active access token of this service (malformed, another issuer's, expired or revoked)",
    error_reason: 'token_inactive',
  }
  refusal(t, await narrow(sts, 'not-a-token'), inactive, 'malformed')
  refusal(t, await narrow(sts, await sts.cluster.serviceAccountToken()), inactive, 'an attestation presented as an access token')

  const disabled = await sts.app.inject({ method: 'DELETE', url: `/v1/grants/${String(grant.id)}`, headers: sts.admin })
  t.equal(disabled.statusCode, 200, disabled.body)
  refusal(t, await narrow(sts, parent), {
    error: 'invalid_grant',
    error_description: `grant ${String(grant.id)}, which the subject_token came from, is no longer active`,
    error_reason: 'grant_inactive',
  })
  sts.clock.advance(61_000)
  refusal(t, await narrow(sts, parent), inactive, 'expired')
})

t.test('a narrower token dies with its parent, and with every token before it', async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({ subject: SUBJECT, audiences: ['ledger-api'], scopes: ['a', 'b', 'c'], owner: 'team' })
  const parent = await parentToken(sts)
  const child = String((await narrow(sts, parent, { scope: 'a b' })).body.access_token)
  const grandchild = String((await narrow(sts, child, { scope: 'a' })).body.access_token)
  t.same(claimsOf(grandchild).ancestor_jtis, [claimsOf(child).jti, claimsOf(parent).jti], 'nearest first')
  t.same((await introspect(sts, grandchild)).ancestor_jtis, claimsOf(grandchild).ancestor_jtis)
  const sibling = String((await narrow(sts, parent, { scope: 'c' })).body.access_token)

  await revoke(sts, 'token', String(claimsOf(child).jti))
  t.equal((await introspect(sts, child)).active, false, 'the revoked token')
  t.equal((await introspect(sts, grandchild)).active, false, 'its child dies with it')
  t.equal((await introspect(sts, parent)).active, true, 'its parent lives on')
  t.equal((await introspect(sts, sibling)).active, true, 'and so does its sibling')
  refusal(t, await narrow(sts, grandchild), {
    error: 'invalid_grant',
    error_description: "subject_token is not an active access token of this service (malformed, another issuer's, expired or revoked)",
    error_reason: 'token_inactive',
  })
  await revoke(sts, 'token', String(claimsOf(parent).jti))
  t.equal((await introspect(sts, sibling)).active, false, 'revoking the first revokes them all')
})

t.test('a bound parent needs a proof made with its key, and its narrower token is bound to it', async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({ subject: SUBJECT, audiences: ['ledger-api'], scopes: ['a', 'b'], owner: 'team' })
  const parent = await parentToken(sts, {}, await makeProof(key, nowOf(sts)))
  t.same(claimsOf(parent).cnf, { jkt: key.jkt })
  refusal(t, await narrow(sts, parent, { scope: 'a' }), {
    error: 'invalid_request',
    error_description: 'the token presented is bound to a DPoP key: send a DPoP proof (RFC 9449) made with that key',
    error_reason: 'dpop_required',
  })
  refusal(t, await narrow(sts, parent, { scope: 'a' }, await makeProof(other, nowOf(sts))), {
    error: 'invalid_grant',
    error_description: 'the token presented is bound to another DPoP key than the proof is made with',
    error_reason: 'dpop_key_mismatch',
  })
  const bound = await narrow(sts, parent, { scope: 'a' }, await makeProof(key, nowOf(sts)))
  t.equal(bound.statusCode, 200)
  t.equal(bound.body.token_type, 'DPoP')
  t.same(claimsOf(bound.body.access_token).cnf, { jkt: key.jkt })

  const bearerParent = await parentToken(sts)
  const boundChild = await narrow(sts, bearerParent, { scope: 'a' }, await makeProof(other, nowOf(sts)))
  t.same(claimsOf(boundChild.body.access_token).cnf, { jkt: other.jkt }, 'a bearer parent narrowed with a proof: bound to the proof')
})
