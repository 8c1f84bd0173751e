import t from 'tap'
import { ADMIN_TOKEN, JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN } from '../support/service.js'

t.test('the log tells what happened and never holds a token, an attestation or the admin token', async (t) => {
  const logLines: string[] = []
  const sts = await startTestService(t, { logLines })
  await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  const attestation = await sts.cluster.serviceAccountToken()
  const issued = await sts.exchange({ grant_type: TOKEN_EXCHANGE, subject_token: attestation, subject_token_type: JWT_TOKEN_TYPE })
  t.equal(issued.statusCode, 200)
  const refused = await sts.exchange({
    grant_type: TOKEN_EXCHANGE,
    subject_token: attestation,
    subject_token_type: JWT_TOKEN_TYPE,
    audience: 'billing',
  })
  t.equal(refused.statusCode, 400)
  // A token put where it does not belong, in a query string, must not reach the log either.
  await sts.app.inject({ method: 'GET', url: `/oauth2/token?subject_token=${attestation}` })
  await sts.app.inject({ method: 'GET', url: '/v1/grants', headers: { authorization: 'Bearer wrong-token-that-is-long-enough' } })

  const log = logLines.join('')
  const accessToken = issued.body.access_token as string
  for (const [what, secret] of [
    ['the access token', accessToken],
    ['its signature', accessToken.split('.')[2]],
    ['the attestation', attestation],
    ['the attestation signature', attestation.split('.')[2]],
    ['the admin token', ADMIN_TOKEN],
    ['a wrong admin token', 'wrong-token-that-is-long-enough'],
  ] as const) {
    t.notOk(log.includes(secret), `${what} is not in the log`)
  }
  const entries = logLines.map((line) => JSON.parse(line))
  t.ok(
    entries.some(
      (e) => e.msg === 'token issued' && e.sub === `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api` && typeof e.jti === 'string',
    ),
    'issuance is logged',
  )
  t.ok(
    entries.some((e) => e.msg === 'token request refused' && e.error === 'invalid_target'),
    'refusals are logged with their reason',
  )
  t.ok(
    entries.some((e) => e.msg === 'request completed' && e.req?.path === '/oauth2/token' && e.statusCode === 404),
    'paths are logged without their query string',
  )
  const perRequest = entries.filter((e) => e.req !== undefined)
  t.equal(perRequest.length, 5, 'one line per request: the grant, the issue, the refusal, the 404, the 401')
  t.equal(new Set(perRequest.map((e) => e.reqId)).size, 5)
})
