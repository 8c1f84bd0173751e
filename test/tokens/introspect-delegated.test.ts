import t from 'tap'
import type { AccessTokenClaims } from '../../src/tokens/access-token.js'
import { TokenSigner } from '../../src/tokens/token-signer.js'
import { claimsOf, exchangeWithProof } from '../support/dpop.js'
import { introspect } from '../support/introspect.js'
import { JWT_TOKEN_TYPE, startTestService, TRUST_DOMAIN } from '../support/service.js'

/**
 * Introspection of delegated and narrowed tokens: `act` and `ancestor_jtis` are answered as issued,
 * and a token signed with our key whose chain or ancestry differs from its ledger entry (dropped,
 * shortened, swapped, malformed) is inactive: dropping either would let it outlive a revocation.
 */

const SERVICE = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`
const AGENT = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/agents/sa/assistant`

t.test('a delegated, narrowed token is introspected as issued; one re-signed with another chain or ancestry is inactive', async (t) => {
  const sts = await startTestService(t)
  const grant = await sts.createGrant({ subject: SERVICE, audiences: ['tools'], scopes: ['a', 'b'], owner: 'team', mayAct: [AGENT] })
  const delegated = await exchangeWithProof(sts, undefined, {
    actor_token: await sts.cluster.serviceAccountToken({ namespace: 'agents', serviceAccount: 'assistant' }),
    actor_token_type: JWT_TOKEN_TYPE,
  })
  const narrowed = await exchangeWithProof(sts, undefined, {
    subject_token: String(delegated.body.access_token),
    subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    scope: 'a',
  })
  t.equal(narrowed.statusCode, 200, String(narrowed.body.error_description ?? 'issued'))
  const token = String(narrowed.body.access_token)
  const claims = claimsOf(token) as unknown as AccessTokenClaims
  t.same(await introspect(sts, token), {
    active: true,
    iss: claims.iss,
    sub: SERVICE,
    aud: 'tools',
    scope: 'a',
    client_id: SERVICE,
    exp: claims.exp,
    iat: claims.iat,
    nbf: claims.nbf,
    jti: claims.jti,
    grants: [grant.id],
    src_h: claims.src_h,
    act: { sub: AGENT },
    ancestor_jtis: [claimsOf(delegated.body.access_token).jti],
    token_type: 'Bearer',
  })

  const signer = new TokenSigner(sts.services.keys, sts.services.signer)
  const resign = (changed: Record<string, unknown>) => signer.sign(signer.currentKey(), changed as unknown as AccessTokenClaims)
  t.equal((await introspect(sts, await resign({ ...claims }))).active, true, 'the same claims re-signed: active')
  const { act: _act, ...withoutActor } = claims
  const { ancestor_jtis: _ancestors, ...withoutAncestors } = claims
  const cases: Array<[string, Record<string, unknown>]> = [
    ['the chain dropped', withoutActor],
    ['another actor', { ...claims, act: { sub: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/agents/sa/other` } }],
    ['an actor added', { ...claims, act: { sub: AGENT, act: { sub: AGENT } } }],
    ['a chain we could not have written', { ...claims, act: { sub: AGENT, iss: 'x' } }],
    ['a chain that is not an object', { ...claims, act: AGENT }],
    ['the ancestry dropped', withoutAncestors],
    ['the ancestry emptied', { ...claims, ancestor_jtis: [] }],
    ['the ancestry not a list of strings', { ...claims, ancestor_jtis: [1] }],
  ]
  for (const [what, changed] of cases) t.same(await introspect(sts, await resign(changed)), { active: false }, what)
})
