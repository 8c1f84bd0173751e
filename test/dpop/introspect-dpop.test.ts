import t from 'tap'
import type { AccessTokenClaims } from '../../src/tokens/access-token.js'
import { TokenSigner } from '../../src/tokens/token-signer.js'
import { claimsOf, exchangeWithProof, makeDpopKey, makeProof, nowOf } from '../support/dpop.js'
import { startTestService, TRUST_DOMAIN } from '../support/service.js'
import { introspect } from '../support/introspect.js'

/**
 * Introspection (RFC 7662) of DPoP-bound tokens: `token_type` DPoP and `cnf`, and a token whose key
 * binding differs from what the ledger recorded at issue (signed with our key, as a leaked key or a
 * bug would) is inactive, so neither dropping nor swapping `cnf` ever makes a token usable without
 * its key.
 */

const key = await makeDpopKey('ES256')
const other = await makeDpopKey('ES256')

t.test('a bound token is introspected with its cnf; one re-signed with another binding, or none, is inactive', async (t) => {
  const sts = await startTestService(t)
  const grant = await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team' })
  const answer = await exchangeWithProof(sts, await makeProof(key, nowOf(sts)))
  const token = String(answer.body.access_token)
  const claims = claimsOf(token) as unknown as AccessTokenClaims
  t.same(await introspect(sts, token), {
    active: true,
    iss: claims.iss,
    sub: claims.sub,
    aud: 'ledger-api',
    client_id: claims.sub,
    exp: claims.exp,
    iat: claims.iat,
    nbf: claims.nbf,
    jti: claims.jti,
    grants: [grant.id],
    src_h: claims.src_h,
    cnf: { jkt: key.jkt },
    token_type: 'DPoP',
  })

  const signer = new TokenSigner(sts.services.keys, sts.services.signer)
  const resign = (changed: AccessTokenClaims) => signer.sign(signer.currentKey(), changed)
  t.match(await introspect(sts, await resign(claims)), { active: true, cnf: { jkt: key.jkt } }, 'the same claims re-signed: active')
  t.same(await introspect(sts, await resign({ ...claims, cnf: { jkt: other.jkt } })), { active: false }, 'another key: inactive')
  const { cnf: _dropped, ...unbound } = claims
  t.same(await introspect(sts, await resign(unbound)), { active: false }, 'the binding dropped: inactive')
})
