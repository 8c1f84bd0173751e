import t from 'tap'
import { claimsOf, exchangeWithProof } from '../support/dpop.js'
import { introspect } from '../support/introspect.js'
import { revoke } from '../support/revoke.js'
import { ISSUER, JWT_TOKEN_TYPE, startTestService, TRUST_DOMAIN, type TestService } from '../support/service.js'

/**
 * What a token exchanged from others carries of them (its lineage), and whose budget a request spends:
 * revoking the grant or the source behind an actor cuts what it holds for others, a disabled grant
 * stops its tokens acting, and nobody spends a budget that is not theirs.
 */

const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token'
const SERVICE = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`
const AGENTS = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/agents/sa/*`

function agentAttestation(sts: TestService, serviceAccount = 'assistant'): Promise<string> {
  return sts.cluster.serviceAccountToken({
    namespace: 'agents',
    serviceAccount,
    pod: { name: 'agent-0', uid: 'a9e1c2d4-0000-4000-8000-00000000a9e1' },
  })
}

/** The agent's own token for this service (aud = issuer): a usable actor_token. */
async function agentTokenForUs(sts: TestService): Promise<string> {
  const answer = await exchangeWithProof(sts, undefined, { subject_token: await agentAttestation(sts), audience: ISSUER })
  if (answer.statusCode !== 200) throw new Error(JSON.stringify(answer.body))
  return String(answer.body.access_token)
}

t.test('a token presented alone spends a budget of its own: whoever was shown it cannot lock its subject out', async (t) => {
  const sts = await startTestService(t, { config: { limits: { tokenRequestsPerIdentityPerMinute: 3 } } })
  await sts.createGrant({ subject: SERVICE, audiences: ['tools'], owner: 'team' })
  // SERVICE calls the resource server `tools` with a bearer token (its 1st request of the minute).
  const callerToken = String((await exchangeWithProof(sts, undefined, { audience: 'tools' })).body.access_token)
  // `tools` (or anyone who saw the token) sends it back as subject_token with an audience it cannot
  // have: refused every time, yet each refusal spends SERVICE's budget.
  for (let i = 0; i < 5; i++) {
    await exchangeWithProof(sts, undefined, { subject_token: callerToken, subject_token_type: ACCESS_TOKEN, audience: 'elsewhere' })
  }
  const own = await exchangeWithProof(sts, undefined, { audience: 'tools' })
  t.equal(
    own.statusCode,
    200,
    `SERVICE itself, with its own attestation, should still get a token (got ${own.statusCode} ${String(own.body.error_reason)})`,
  )
})

t.test('revoking the grant an actor token came from revokes what was delegated with it', async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({ subject: SERVICE, audiences: ['tools'], owner: 'team', mayAct: [AGENTS] })
  const agentGrant = await sts.createGrant({ subject: AGENTS, audiences: [ISSUER], owner: 'agents-team' })
  const actorToken = await agentTokenForUs(sts)
  const delegated = await exchangeWithProof(sts, undefined, { actor_token: actorToken, actor_token_type: ACCESS_TOKEN, audience: 'tools' })
  t.equal(delegated.statusCode, 200, String(delegated.body.error_description ?? 'issued'))
  await revoke(sts, 'grant', String(agentGrant.id))
  t.equal((await introspect(sts, actorToken)).active, false, 'the actor token is revoked (its grant)')
  t.equal((await introspect(sts, String(delegated.body.access_token))).active, false, 'the token exchanged from it should be too')
})

t.test('revoking the attestation source an actor runs on revokes what it holds for others', async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({ subject: SERVICE, audiences: ['tools'], owner: 'team', mayAct: [AGENTS] })
  await sts.createGrant({ subject: AGENTS, audiences: [ISSUER, 'tools'], owner: 'agents-team' })
  const service = await exchangeWithProof(sts, undefined, { audience: 'tools' })
  const agentOwn = await exchangeWithProof(sts, undefined, { subject_token: await agentAttestation(sts), audience: 'tools' })
  const serviceSources = (await sts.services.ledger.get(String(claimsOf(service.body.access_token).jti)))!.sources
  const agentSources = (await sts.services.ledger.get(String(claimsOf(agentOwn.body.access_token).jti)))!.sources
  const agentOnly = agentSources.filter((s) => !serviceSources.includes(s))
  t.ok(agentOnly.length > 0, `the agent has a source of its own: ${agentOnly.join(', ')}`)

  const viaAttestation = await exchangeWithProof(sts, undefined, {
    actor_token: await agentAttestation(sts),
    actor_token_type: JWT_TOKEN_TYPE,
    audience: 'tools',
  })
  const viaToken = await exchangeWithProof(sts, undefined, {
    actor_token: await agentTokenForUs(sts),
    actor_token_type: ACCESS_TOKEN,
    audience: 'tools',
  })
  t.equal(viaAttestation.statusCode, 200)
  t.equal(viaToken.statusCode, 200)
  await revoke(sts, 'source', agentOnly[0]!)
  t.equal((await introspect(sts, String(agentOwn.body.access_token))).active, false, "the agent's own token is revoked")
  t.equal((await introspect(sts, String(service.body.access_token))).active, true, "the service's own is not")
  t.equal((await introspect(sts, String(viaAttestation.body.access_token))).active, false, 'delegated (attested actor) should be revoked')
  t.equal((await introspect(sts, String(viaToken.body.access_token))).active, false, 'delegated (actor token) should be revoked')
})

t.test('an actor token whose grant is disabled no longer acts (as a subject_token would no longer narrow)', async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({ subject: SERVICE, audiences: ['tools'], owner: 'team', mayAct: [AGENTS] })
  const agentGrant = await sts.createGrant({ subject: AGENTS, audiences: [ISSUER], owner: 'agents-team' })
  const actorToken = await agentTokenForUs(sts)
  const deleted = await sts.app.inject({ method: 'DELETE', url: `/v1/grants/${String(agentGrant.id)}`, headers: sts.admin })
  t.equal(deleted.statusCode, 200, deleted.body)
  const answer = await exchangeWithProof(sts, undefined, { actor_token: actorToken, actor_token_type: ACCESS_TOKEN, audience: 'tools' })
  t.equal(answer.statusCode, 400, `should be refused like a narrowed token (grant_inactive); got ${answer.statusCode}`)
})

t.test('a parent expiring during the exchange gives nothing, not a token born expired', async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({ subject: SERVICE, audiences: ['tools'], owner: 'team' })
  const parent = String((await exchangeWithProof(sts, undefined, { audience: 'tools', expires_in: '60' })).body.access_token)
  const exp = Number(claimsOf(parent).exp)
  // Time passes during the exchange: 1 ms per read of the clock, starting just before the parent expires.
  sts.clock.advance(exp * 1000 - 1 - sts.clock.now())
  const base = sts.clock.now()
  let reads = 0
  sts.clock.now = () => {
    // Reads: introspection's verify, the revocation check of the parent, then the exchange's own `now`:
    // one second passes after the first, as it may while the budget and replay stores answer.
    return base + 1000 * Math.max(0, reads++ - 1)
  }
  const answer = await exchangeWithProof(sts, undefined, { subject_token: parent, subject_token_type: ACCESS_TOKEN })
  t.comment(JSON.stringify({ status: answer.statusCode, expires_in: answer.body.expires_in, reason: answer.body.error_reason }))
  t.equal(answer.statusCode, 400, `should be refused (token_inactive), not issued with expires_in ${String(answer.body.expires_in)}`)
})

t.test('an agent spends its own budget, not that of the service it acts for', async (t) => {
  const sts = await startTestService(t, { config: { limits: { tokenRequestsPerIdentityPerMinute: 3 } } })
  await sts.createGrant({ subject: SERVICE, audiences: ['tools'], owner: 'team', mayAct: [AGENTS] })
  await sts.createGrant({ subject: AGENTS, audiences: ['tools'], owner: 'agents-team' })
  for (let i = 0; i < 3; i++) {
    await exchangeWithProof(sts, undefined, {
      actor_token: await agentAttestation(sts),
      actor_token_type: JWT_TOKEN_TYPE,
      audience: 'tools',
    })
  }
  const own = await exchangeWithProof(sts, undefined, { audience: 'tools' })
  t.equal(own.statusCode, 200, `SERVICE's own request (got ${own.statusCode} ${String(own.body.error_reason)})`)
})
