import t from 'tap'
import { ADMIN_TOKEN, JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN } from '../support/service.js'

/**
 * A refused token request is one structured warning an operator can alert on: who asked as far as
 * the exchange got (the subject once the attestation verified, the attestor once it was routed), the
 * OAuth error and our reason, and never the attestation. Failed admin authentication likewise.
 */

const PINO_WARN = 40
const SUBJECT = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`

/** A log line without what changes from run to run (time, host, pid, ids, duration). */
function stable(line: string): Record<string, unknown> {
  const { time: _time, pid: _pid, hostname: _hostname, reqId: _reqId, ms: _ms, req, ...rest } = JSON.parse(line)
  const { id: _id, ...request } = req ?? {}
  return { ...rest, ...(req ? { req: request } : {}) }
}

t.test('a refused token request is one warning line with who asked, the error and the reason, never the token', async (t) => {
  const logLines: string[] = []
  const sts = await startTestService(t, { logLines })
  await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  const attestation = await sts.cluster.serviceAccountToken()
  const [header, payload] = attestation.split('.')
  const forged = `${header}.${payload}.${Buffer.alloc(64, 1).toString('base64url')}`
  const strangerIssuer = `${Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT' })).toString('base64url')}.${Buffer.from(
    JSON.stringify({ iss: 'https://nobody.example', sub: 'x', aud: 'y', exp: 2_000_000_000 }),
  ).toString('base64url')}.${Buffer.alloc(64, 2).toString('base64url')}`
  logLines.length = 0

  const request = (subjectToken: string, extra: Record<string, string> = {}) =>
    sts.exchange({ grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: JWT_TOKEN_TYPE, ...extra })
  t.equal((await request(attestation, { audience: 'billing' })).statusCode, 400)
  t.equal((await request(forged)).statusCode, 400)
  t.equal((await request(strangerIssuer)).statusCode, 400)
  await sts.app.inject({ method: 'GET', url: '/v1/grants', headers: { authorization: 'Bearer wrong-token-that-is-long-enough' } })
  await sts.app.inject({ method: 'POST', url: '/oauth2/introspect', payload: { token: 'x' } })

  const tokenPath = { method: 'POST', path: '/oauth2/token', remoteAddress: '127.0.0.1' }
  t.same(
    logLines.map(stable),
    [
      {
        level: PINO_WARN,
        msg: 'token request refused',
        req: tokenPath,
        statusCode: 400,
        sub: SUBJECT,
        attestor: 'prod',
        attestorKind: 'kubernetes',
        error: 'invalid_target',
        reason: 'audience_not_granted',
        description: `audience "billing" is not granted to ${SUBJECT}`,
      },
      {
        level: PINO_WARN,
        msg: 'token request refused',
        req: tokenPath,
        statusCode: 400,
        attestor: 'prod',
        attestorKind: 'kubernetes',
        error: 'invalid_grant',
        reason: 'signature_invalid',
        description: 'the token signature is invalid',
      },
      {
        level: PINO_WARN,
        msg: 'token request refused',
        req: tokenPath,
        statusCode: 400,
        error: 'invalid_grant',
        reason: 'issuer_unknown',
        description: 'no attestor is configured for issuer "https://nobody.example"',
      },
      {
        level: PINO_WARN,
        msg: 'admin request refused',
        req: { method: 'GET', path: '/v1/grants', remoteAddress: '127.0.0.1' },
        statusCode: 401,
        reason: 'admin_token_invalid',
        description: 'the admin token is not valid',
      },
      {
        level: PINO_WARN,
        msg: 'admin request refused',
        req: { method: 'POST', path: '/oauth2/introspect', remoteAddress: '127.0.0.1' },
        statusCode: 401,
        error: 'invalid_token',
        reason: 'admin_token_missing',
        description: 'an admin bearer token is required (Authorization: Bearer <token>)',
      },
    ],
    'one line per refusal, whole',
  )
  const log = logLines.join('')
  for (const [what, secret] of [
    ['the attestation', attestation],
    ['its payload', payload],
    ['the forged signature', forged.split('.')[2]],
    ['the wrong admin token', 'wrong-token-that-is-long-enough'],
    ['the admin token', ADMIN_TOKEN],
  ] as const)
    t.notOk(log.includes(secret), `${what} is not in the log`)
})

t.test('an issued token stays an info line', async (t) => {
  const logLines: string[] = []
  const sts = await startTestService(t, { logLines })
  await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  logLines.length = 0
  const issued = await sts.exchange({
    grant_type: TOKEN_EXCHANGE,
    subject_token: await sts.cluster.serviceAccountToken(),
    subject_token_type: JWT_TOKEN_TYPE,
  })
  t.equal(issued.statusCode, 200)
  t.same(
    logLines.map(stable).map(({ level, msg, sub }) => ({ level, msg, sub })),
    [{ level: 30, msg: 'token issued', sub: SUBJECT }],
  )
})
