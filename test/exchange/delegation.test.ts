import t from 'tap'
import { SUPPORTED_SUBJECT_TOKEN_TYPES } from '../../src/exchange/token-request.js'
import { claimsOf, exchangeWithProof, makeDpopKey, makeProof, nowOf, refusal, type TokenAnswer } from '../support/dpop.js'
import { introspect } from '../support/introspect.js'
import { revoke } from '../support/revoke.js'
import { ISSUER, JWT_TOKEN_TYPE, startTestService, TRUST_DOMAIN, type TestService } from '../support/service.js'

/**
 * Delegation (RFC 8693 `actor_token`): the subject's grants say who may act for it (`mayAct`), the
 * token names the actor in `act` (nested for chains, bounded by `delegation.maxChainDepth`), the ledger
 * records the chain, and revoking an actor revokes every token it holds on anyone's behalf.
 */

const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token'
const SERVICE = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`
const AGENT = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/agents/sa/assistant`
const RUNNER = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/agents/sa/runner`
const AGENTS = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/agents/sa/*`
const key = await makeDpopKey('ES256')

/** The attestation of a workload of the test cluster in namespace `agents`. */
function agentAttestation(sts: TestService, serviceAccount = 'assistant'): Promise<string> {
  return sts.cluster.serviceAccountToken({ namespace: 'agents', serviceAccount })
}

/** The service's own attestation as subject, an agent's as actor (unless `params` say otherwise). */
async function actFor(sts: TestService, params: Record<string, string> = {}, proof?: string): Promise<TokenAnswer> {
  return exchangeWithProof(sts, proof, { actor_token: await agentAttestation(sts), actor_token_type: JWT_TOKEN_TYPE, ...params })
}

const NOT_ALLOWED = (actor: string) => ({
  error: 'invalid_grant',
  error_description: `no grant lets ${actor} act for ${SERVICE} (mayAct)`,
  error_reason: 'actor_not_allowed',
})

for (const backend of ['real', 'embedded'] as const) {
  t.test(`an actor the grant lets act gets a token for the subject that names it (${backend})`, async (t) => {
    const sts = await startTestService(t, { backend })
    const grant = await sts.createGrant({ subject: SERVICE, audiences: ['tools'], scopes: ['tools:call'], owner: 'team', mayAct: [AGENTS] })
    const answer = await actFor(sts, { audience: 'tools' })
    t.equal(answer.statusCode, 200, String(answer.body.error_description ?? 'issued'))
    const claims = claimsOf(answer.body.access_token)
    const iat = nowOf(sts)
    t.same(claims, {
      iss: ISSUER,
      sub: SERVICE,
      aud: 'tools',
      exp: iat + 300,
      iat,
      nbf: iat,
      jti: claims.jti,
      client_id: SERVICE,
      grants: [grant.id],
      src_h: claims.src_h,
      scope: 'tools:call',
      act: { sub: AGENT },
    })
    const entry = await sts.services.ledger.get(String(claims.jti))
    t.same(entry?.actors, [AGENT], 'the ledger records the chain')
    t.equal(entry?.parentJti, undefined, 'exchanged from an attestation: no parent')
    const shown = await introspect(sts, String(answer.body.access_token))
    t.same(shown.act, { sub: AGENT })
    t.equal(shown.active, true)
  })
}

t.test('an actor without mayAct is refused, and only grants that let it act contribute', async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({ subject: SERVICE, audiences: ['tools'], scopes: ['tools:read'], owner: 'team', mayAct: [AGENT] })
  await sts.createGrant({ subject: SERVICE, audiences: ['tools'], scopes: ['tools:write'], owner: 'team' })
  const readOnly = await actFor(sts)
  t.equal(readOnly.statusCode, 200)
  t.equal(claimsOf(readOnly.body.access_token).scope, 'tools:read', 'the grant without mayAct gives the actor nothing')
  refusal(t, await actFor(sts, { scope: 'tools:write' }), {
    error: 'invalid_scope',
    error_description: `scope "tools:write" is not granted to ${SERVICE} for audience "tools"`,
    error_reason: 'scope_not_granted',
  })
  refusal(t, await actFor(sts, { actor_token: await agentAttestation(sts, 'runner') }), NOT_ALLOWED(RUNNER), 'an actor no grant names')
  const own = await exchangeWithProof(sts, undefined)
  // Two grants made in one millisecond: their scopes' order follows their ids, random within it.
  t.same(
    String(claimsOf(own.body.access_token).scope).split(' ').sort(),
    ['tools:read', 'tools:write'],
    'the subject itself still gets both',
  )
  t.notOk('act' in claimsOf(own.body.access_token))
})

t.test('chains nest the actors, current first, up to delegation.maxChainDepth', async (t) => {
  const sts = await startTestService(t, { config: { delegation: { maxChainDepth: 2 } } })
  const grant = await sts.createGrant({ subject: SERVICE, audiences: ['tools'], owner: 'team', mayAct: [AGENTS] })
  const first = String((await actFor(sts)).body.access_token)
  const second = await exchangeWithProof(sts, undefined, {
    subject_token: first,
    subject_token_type: ACCESS_TOKEN,
    actor_token: await agentAttestation(sts, 'runner'),
    actor_token_type: JWT_TOKEN_TYPE,
  })
  t.equal(second.statusCode, 200, String(second.body.error_description ?? 'issued'))
  const claims = claimsOf(second.body.access_token)
  t.same(claims.act, { sub: RUNNER, act: { sub: AGENT } })
  t.same(claims.ancestor_jtis, [claimsOf(first).jti], 'it dies with the token it was exchanged from')
  t.same(claims.grants, [grant.id])
  t.same((await sts.services.ledger.get(String(claims.jti)))?.actors, [RUNNER, AGENT])

  refusal(
    t,
    await exchangeWithProof(sts, undefined, {
      subject_token: String(second.body.access_token),
      subject_token_type: ACCESS_TOKEN,
      actor_token: await agentAttestation(sts, 'third'),
      actor_token_type: JWT_TOKEN_TYPE,
    }),
    {
      error: 'invalid_grant',
      error_description: 'the delegation chain would name 3 actors; delegation.maxChainDepth allows 2',
      error_reason: 'delegation_chain_too_long',
    },
  )
})

t.test("revoking an actor revokes every token it holds on anyone's behalf", async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({ subject: SERVICE, audiences: ['tools'], owner: 'team', mayAct: [AGENTS] })
  const held = String((await actFor(sts)).body.access_token)
  const byRunner = String((await actFor(sts, { actor_token: await agentAttestation(sts, 'runner') })).body.access_token)
  const own = String((await exchangeWithProof(sts, undefined)).body.access_token)
  await revoke(sts, 'subject', AGENT)
  t.same(await introspect(sts, held), { active: false }, "the agent's token for the service")
  t.equal((await introspect(sts, byRunner)).active, true, 'another actor’s')
  t.equal((await introspect(sts, own)).active, true, 'the service’s own')
  refusal(t, await actFor(sts), {
    error: 'invalid_grant',
    error_description: `the identity ${AGENT} is revoked`,
    error_reason: 'revoked',
  })
  await revoke(sts, 'subject', `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/agents/**`)
  t.equal((await introspect(sts, byRunner)).active, false, 'a glob revocation reaches actors too')
})

t.test('an access token of ours as actor_token: bound, or issued for this service', async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({ subject: SERVICE, audiences: ['tools'], owner: 'team', mayAct: [AGENTS] })
  await sts.createGrant({ subject: AGENTS, audiences: ['tools', ISSUER], owner: 'team' })
  const agentToken = async (params: Record<string, string>, proof?: string) =>
    String((await exchangeWithProof(sts, proof, { subject_token: await agentAttestation(sts), ...params })).body.access_token)

  const forTools = await agentToken({ audience: 'tools' })
  refusal(t, await actFor(sts, { actor_token: forTools, actor_token_type: ACCESS_TOKEN }), {
    error: 'invalid_grant',
    error_description: `an access token given as actor_token must be DPoP-bound or issued for audience "${ISSUER}"`,
    error_reason: 'actor_token_unusable',
  })
  const forUs = await agentToken({ audience: ISSUER, expires_in: '90' })
  const viaOurs = await actFor(sts, { actor_token: forUs, actor_token_type: ACCESS_TOKEN, audience: 'tools' })
  t.equal(viaOurs.statusCode, 200, String(viaOurs.body.error_description ?? 'issued'))
  t.same(claimsOf(viaOurs.body.access_token).act, { sub: AGENT })
  t.same(claimsOf(viaOurs.body.access_token).ancestor_jtis, [claimsOf(forUs).jti], 'it dies with the actor’s token')
  t.equal(claimsOf(viaOurs.body.access_token).exp, claimsOf(forUs).exp, 'and lives no longer than it')
  refusal(t, await actFor(sts, { actor_token: forUs, actor_token_type: ACCESS_TOKEN, audience: 'tools', expires_in: '91' }), {
    error: 'invalid_request',
    error_description: 'expires_in 91 is longer than the 90 seconds allowed for this token',
    error_reason: 'requested_lifetime_too_long',
  })

  const bound = await agentToken({ audience: 'tools' }, await makeProof(key, nowOf(sts)))
  const params = { actor_token: bound, actor_token_type: ACCESS_TOKEN, audience: 'tools' }
  refusal(t, await actFor(sts, params), {
    error: 'invalid_request',
    error_description: 'the token presented is bound to a DPoP key: send a DPoP proof (RFC 9449) made with that key',
    error_reason: 'dpop_required',
  })
  const viaBound = await actFor(sts, params, await makeProof(key, nowOf(sts)))
  t.equal(viaBound.statusCode, 200, String(viaBound.body.error_description ?? 'issued'))
  t.same(claimsOf(viaBound.body.access_token).cnf, { jkt: key.jkt }, 'bound to the actor’s key')
  t.equal(viaBound.body.token_type, 'DPoP')

  const delegated = String(viaOurs.body.access_token)
  refusal(t, await actFor(sts, { actor_token: delegated, actor_token_type: ACCESS_TOKEN }), {
    error: 'invalid_grant',
    error_description: 'the actor_token is itself delegated: present a token issued to the actor for itself',
    error_reason: 'actor_token_unusable',
  })
})

t.test('a delegated exchange of a token of ours needs every grant it came from to let the actor act', async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({ subject: SERVICE, audiences: ['tools'], scopes: ['a'], owner: 'team', mayAct: [AGENT] })
  await sts.createGrant({ subject: SERVICE, audiences: ['tools'], scopes: ['b'], owner: 'team' })
  const both = String((await exchangeWithProof(sts, undefined)).body.access_token)
  refusal(t, await actFor(sts, { subject_token: both, subject_token_type: ACCESS_TOKEN }), NOT_ALLOWED(AGENT))
  const onlyA = String((await exchangeWithProof(sts, undefined, { scope: 'a' })).body.access_token)
  const answer = await actFor(sts, { subject_token: onlyA, subject_token_type: ACCESS_TOKEN })
  t.equal(answer.statusCode, 200, String(answer.body.error_description ?? 'issued'))
  t.same(claimsOf(answer.body.access_token).act, { sub: AGENT })
})

t.test('actor_token and actor_token_type come together', async (t) => {
  const sts = await startTestService(t)
  refusal(t, await exchangeWithProof(sts, undefined, { actor_token: 'x' }), {
    error: 'invalid_request',
    error_description: 'actor_token_type is required with actor_token',
    error_reason: 'parameter_missing',
  })
  refusal(t, await exchangeWithProof(sts, undefined, { actor_token_type: JWT_TOKEN_TYPE }), {
    error: 'invalid_request',
    error_description: 'actor_token_type was sent without actor_token',
    error_reason: 'parameter_missing',
  })
  refusal(t, await exchangeWithProof(sts, undefined, { actor_token: 'x', actor_token_type: 'urn:example:other' }), {
    error: 'invalid_request',
    error_description: `actor_token_type must be one of ${SUPPORTED_SUBJECT_TOKEN_TYPES.join(', ')}`,
    error_reason: 'parameter_invalid',
  })
})
