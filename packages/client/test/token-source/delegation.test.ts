import t from 'tap'
import { ISSUER, TRUST_DOMAIN } from '../../../../test/support/service.js'
import { accessTokenAttestation, JWT_TOKEN_TYPE, StsError, tokenSource, type AttestationFunction } from '../../src/index.js'
import { claimsOf, dpopSetup, SUBJECT, type DpopSetup } from '../support/dpop-service.js'
import { issued } from '../support/sts-stand-in.js'
import { harness } from './setup.js'

// The token source with `actor` (RFC 8693 delegation) against the real service: the service's grant
// lets the agent act for it (`mayAct`), the agent's tokens keep the service as `sub` and name the agent
// in `act`; with DPoP they are bound to the agent's key; an actor no grant names is refused.

const AGENT = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/agents/sa/assistant`
const RUNNER = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/agents/sa/runner`

/** The projected token of a workload of namespace `agents`, as an attestation function. */
function agentAttestation(setup: DpopSetup, serviceAccount = 'assistant'): AttestationFunction {
  return async () => ({
    subjectToken: await setup.sts.cluster.serviceAccountToken({ namespace: 'agents', serviceAccount }),
    subjectTokenType: JWT_TOKEN_TYPE,
  })
}

/** The service's grant on `tools`, letting the assistant act for it. */
async function toolsGrant(setup: DpopSetup): Promise<string> {
  const grant = await setup.sts.createGrant({
    subject: SUBJECT,
    audiences: ['tools'],
    scopes: ['tools:call'],
    owner: 'team-payments',
    mayAct: [AGENT],
  })
  return String(grant.id)
}

function fieldsOf(error: unknown) {
  const { name, error: code, description, status, reason } = error as StsError
  return { isStsError: error instanceof StsError, name, error: code, description, status, reason }
}

t.test('with actor, the token keeps the subject and names the actor in act', async (t) => {
  const setup = await dpopSetup(t)
  const grantId = await toolsGrant(setup)
  const source = setup.source({ actor: agentAttestation(setup) })
  const token = await source.accessToken({ audience: 'tools' })
  t.equal(token.tokenType, 'Bearer')
  const claims = claimsOf(token.token)
  const iat = Math.floor(setup.sts.clock.now() / 1000)
  t.same(claims, {
    iss: ISSUER,
    sub: SUBJECT,
    aud: 'tools',
    exp: iat + 300,
    iat,
    nbf: iat,
    jti: claims.jti,
    client_id: SUBJECT,
    grants: [grantId],
    src_h: claims.src_h,
    scope: 'tools:call',
    act: { sub: AGENT },
  })
  const own = setup.source()
  t.notOk('act' in claimsOf(await own.token({ audience: 'tools' })), 'without actor, the subject gets its own token')
})

t.test('with actor and dpop, the delegated token is bound to the key of the source', async (t) => {
  const setup = await dpopSetup(t)
  await toolsGrant(setup)
  const source = setup.source({ actor: agentAttestation(setup), dpop: true })
  const token = await source.accessToken({ audience: 'tools' })
  t.equal(token.tokenType, 'DPoP')
  const claims = claimsOf(token.token)
  t.same(
    { sub: claims.sub, act: claims.act, cnf: claims.cnf },
    { sub: SUBJECT, act: { sub: AGENT }, cnf: { jkt: await source.dpopThumbprint() } },
  )
})

t.test('an access token of the service as subject: the agent gets a narrower, bound token acting for it', async (t) => {
  const setup = await dpopSetup(t)
  const grantId = await toolsGrant(setup)
  const service = setup.source()
  const serviceToken = claimsOf(await service.token({ audience: 'tools' }))
  const agent = setup.source({
    attestation: accessTokenAttestation(() => service.token({ audience: 'tools' })),
    actor: agentAttestation(setup),
    dpop: true,
  })
  const token = await agent.accessToken({ audience: 'tools' })
  t.equal(token.tokenType, 'DPoP')
  const claims = claimsOf(token.token)
  t.same(claims, {
    iss: ISSUER,
    sub: SUBJECT,
    aud: 'tools',
    exp: serviceToken.exp,
    iat: serviceToken.iat,
    nbf: serviceToken.nbf,
    jti: claims.jti,
    client_id: SUBJECT,
    grants: [grantId],
    src_h: claims.src_h, // the service's sources and the actor's: the server's delegation tests check them
    scope: 'tools:call',
    cnf: { jkt: await agent.dpopThumbprint() },
    act: { sub: AGENT },
    ancestor_jtis: [serviceToken.jti],
  })
})

t.test('an actor no grant lets act is refused: StsError invalid_grant, reason actor_not_allowed', async (t) => {
  const setup = await dpopSetup(t)
  await toolsGrant(setup)
  const source = setup.source({ actor: agentAttestation(setup, 'runner'), dpop: true })
  const error = await source.token({ audience: 'tools' }).catch((caught: unknown) => caught)
  t.same(fieldsOf(error), {
    isStsError: true,
    name: 'StsError',
    error: 'invalid_grant',
    description: `no grant lets ${RUNNER} act for ${SUBJECT} (mayAct)`,
    status: 400,
    reason: 'actor_not_allowed',
  })
})

t.test('the actor is asked anew for every exchange and sent as actor_token with its type', async (t) => {
  let asked = 0
  const { source, sts, time } = harness(t, () => issued(100), {
    actor: async () => ({ subjectToken: `actor-${++asked}`, subjectTokenType: 'urn:example:actor' }),
  })
  await source.token({ audience: 'tools' })
  await time.advance(100_000)
  t.same(
    sts.calls.map((call) => [call.form.subject_token, call.form.actor_token, call.form.actor_token_type]),
    [
      ['attestation-1', 'actor-1', 'urn:example:actor'],
      ['attestation-1', 'actor-2', 'urn:example:actor'],
    ],
  )
})

t.test('without actor, no actor_token is sent', async (t) => {
  const { source, sts } = harness(t, () => issued(100))
  await source.token()
  t.same(Object.keys(sts.calls[0]?.form ?? {}).sort(), ['grant_type', 'subject_token', 'subject_token_type'])
})

t.test('an actor attestation that fails is an AttestationError naming the actor, retryable', async (t) => {
  const { source, sts, events } = harness(t, () => issued(100), {
    actor: async () => {
      throw new Error('the agent token file is missing')
    },
    retry: { waitMs: 0 },
  })
  await t.rejects(source.token(), {
    name: 'AttestationError',
    retryable: true,
    message: "the actor's custom attestation failed: the agent token file is missing",
  })
  t.same(sts.calls, [], 'nothing sent without the actor')
  t.same(
    events.map((event) => event.type),
    ['gave-up'],
  )
})

t.test('an actor that is not an attestation is a TypeError naming the option', async (t) => {
  t.throws(
    () =>
      tokenSource({
        sts: 'https://sts.example.org',
        attestation: async () => ({ subjectToken: 'x', subjectTokenType: JWT_TOKEN_TYPE }),
        actor: 'token' as never,
      }),
    {
      name: 'TypeError',
      message: 'tokenSource: `actor` must be an attestation (fileAttestation(...), accessTokenAttestation(...)...) or an async function',
    },
  )
})
