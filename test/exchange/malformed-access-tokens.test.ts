import t from 'tap'
import { exchangeWithProof } from '../support/dpop.js'
import { ISSUER, startTestService, TRUST_DOMAIN } from '../support/service.js'

const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token'
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')

t.test('malformed access tokens as subject_token / actor_token never answer 5xx', async (t) => {
  const sts = await startTestService(t)
  await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/**`,
    audiences: ['tools', ISSUER],
    owner: 'team',
    mayAct: [`spiffe://${TRUST_DOMAIN}/**`],
  })
  const real = String((await exchangeWithProof(sts, undefined, { audience: 'tools' })).body.access_token)
  const [h, p] = real.split('.')
  const kid = JSON.parse(Buffer.from(h!, 'base64url').toString()).kid
  const samples = [
    'a.b.c',
    '...',
    'x',
    `${b64('null')}.${b64('null')}.`,
    `${b64([])}.${b64({})}.AA`,
    `${b64({ alg: 'ES256', typ: 'at+jwt', kid: '__proto__' })}.${p}.AAAA`,
    `${b64({ alg: 'ES256', typ: 'at+jwt', kid: 'constructor' })}.${p}.AAAA`,
    `${b64({ alg: 'ES256', typ: 'at+jwt', kid })}.${p}.AAAA`,
    `${b64({ alg: 'ES256', typ: 'at+jwt', kid })}.${p}.${'A'.repeat(86)}`,
    `${b64({ alg: 'EdDSA', typ: 'at+jwt', kid })}.${p}.${'A'.repeat(86)}`,
    `${b64({ alg: 'ES256', typ: 'at+jwt', kid })}.${b64('null')}.${'A'.repeat(86)}`,
    `${h}.${p}.${'A'.repeat(2000)}`,
    `${h}.${p}`,
    `${h}.${p}.`,
    `${h}.${p}.${'\u00e9'}`,
    `${b64({ alg: 'ES256', typ: 'at+jwt', kid: 1 })}.${p}.AA`,
    `${b64({ alg: 'ES256', typ: 'at+jwt', kid, crit: ['x'] })}.${p}.AA`,
  ]
  for (const token of samples) {
    for (const params of <Record<string, string>[]>[
      { subject_token: token, subject_token_type: ACCESS_TOKEN },
      { actor_token: token, actor_token_type: ACCESS_TOKEN, audience: 'tools' },
      { subject_token: real, subject_token_type: ACCESS_TOKEN, actor_token: token, actor_token_type: ACCESS_TOKEN },
    ]) {
      const answer = await exchangeWithProof(sts, undefined, params)
      t.ok(
        answer.statusCode < 500,
        `${answer.statusCode} ${String(answer.body.error_reason ?? answer.body.reason)} for ${token.slice(0, 40)}`,
      )
    }
  }
  // The subject token as its own actor (aud not the issuer: unusable), and an aud=issuer token acting for itself.
  const forUs = String((await exchangeWithProof(sts, undefined, { audience: ISSUER })).body.access_token)
  for (const params of [
    { subject_token: real, subject_token_type: ACCESS_TOKEN, actor_token: real, actor_token_type: ACCESS_TOKEN },
    { subject_token: forUs, subject_token_type: ACCESS_TOKEN, actor_token: forUs, actor_token_type: ACCESS_TOKEN },
  ]) {
    const answer = await exchangeWithProof(sts, undefined, params)
    t.comment(
      JSON.stringify({
        status: answer.statusCode,
        reason: answer.body.error_reason,
        act: answer.body.access_token
          ? JSON.parse(Buffer.from(String(answer.body.access_token).split('.')[1]!, 'base64url').toString()).act
          : undefined,
      }),
    )
    t.ok(answer.statusCode < 500)
  }
})
