import t from 'tap'
import { jwks, makeKey, signToken } from '../support/attestors/jwt-attestations.js'
import { STS_AUDIENCE } from '../support/cluster.js'
import { makeDpopKey, makeProof, TOKEN_ENDPOINT } from '../support/dpop.js'
import { JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN } from '../support/service.js'

/** The proof is checked before the attestation: a request refused for its proof keeps its single-use attestation. */

const NOW = Date.parse('2026-11-23T12:00:00Z') / 1000
const ISSUER = 'https://ci.example.test'
const signing = await makeKey('ES256', 'ci-1')
const key = await makeDpopKey('ES256')

t.test('a bad proof does not spend a single-use attestation; the retry with a sound proof gets its token', async (t) => {
  const sts = await startTestService(t, {
    now: NOW * 1000,
    config: { attestors: [{ kind: 'oidc', name: 'ci', issuer: ISSUER, jwks: jwks(signing), subjectTemplate: 'ci/{claims.sub}' }] },
  })
  await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/ci/*`, audiences: ['deploy'], owner: 'team-ci' })
  const attestation = await signToken(signing, { iss: ISSUER, aud: STS_AUDIENCE, sub: 'job-1', iat: NOW - 10, exp: NOW + 300 })
  const send = async (proof: string) => {
    const response = await sts.app.inject({
      method: 'POST',
      url: '/oauth2/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proof },
      payload: new URLSearchParams({
        grant_type: TOKEN_EXCHANGE,
        subject_token: attestation,
        subject_token_type: JWT_TOKEN_TYPE,
      }).toString(),
    })
    return { status: response.statusCode, body: response.json() }
  }
  const wrongUrl = await send(await makeProof(key, NOW, { claims: { htu: `${TOKEN_ENDPOINT}/x` } }))
  t.equal(wrongUrl.status, 400)
  t.equal(wrongUrl.body.error, 'invalid_dpop_proof')
  const retried = await send(await makeProof(key, NOW))
  t.equal(retried.status, 200, 'the attestation was not spent by the refused request')
  t.equal(retried.body.token_type, 'DPoP')
  const again = await send(await makeProof(key, NOW))
  t.equal(again.body.error_reason, 'replayed', 'and it is single-use all the same')
})
