import type { Test } from 'tap'
import {
  ISSUER,
  JWT_TOKEN_TYPE,
  startTestService,
  TOKEN_EXCHANGE,
  TRUST_DOMAIN,
  type TestService,
} from '../../../../test/support/service.js'
import { createVerifier, type Verifier } from '../../src/index.js'

/**
 * What the adapter tests share: the real service (Postgres, Redis), a grant of `ledger:read` on
 * `ledger-api`, a verifier following its revocations with a `revocations:subscribe` token, and a
 * second verifier that has lost the stream for longer than it allows (it answers 503).
 */
export interface ResourceServerSetup {
  sts: TestService
  verifier: Verifier
  /** A verifier whose revocation stream is unreachable, refusing at once. */
  blind: Verifier
  /** A fresh token for `spiffe://example.org/k8s/prod/ns/<namespace>/sa/api`, with `ledger:read`. */
  mint(namespace?: string): Promise<string>
  revokeToken(token: string): Promise<void>
}

export const SUBJECT = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`

export async function resourceServerSetup(t: Test): Promise<ResourceServerSetup> {
  const sts = await startTestService(t, { config: { limits: { adminRequestsPerMinute: 0 } } })
  const address = await sts.app.listen({ host: '127.0.0.1', port: 0 })
  await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`,
    audiences: ['ledger-api'],
    scopes: ['ledger:read'],
    owner: 'team-ledger',
  })
  const made = await sts.app.inject({
    method: 'POST',
    url: '/v1/admin-tokens',
    headers: sts.admin,
    payload: { name: 'ledger-api', roles: ['revocations:subscribe'] },
  })
  const common = { issuer: ISSUER, audience: 'ledger-api', jwks: { uri: `${address}/.well-known/jwks.json` }, now: () => sts.clock.now() }
  const verifier = createVerifier({
    ...common,
    sts: address,
    revocations: { subscribeToken: made.json().token, onStreamLost: { refuseAfterMs: 5000 } },
  })
  t.teardown(() => verifier.close())
  await verifier.ready()
  const blind = createVerifier({
    ...common,
    sts: 'http://127.0.0.1:9',
    revocations: { subscribeToken: 'x', onStreamLost: { refuseAfterMs: 0 } },
  })
  t.teardown(() => blind.close())
  return {
    sts,
    verifier,
    blind,
    async mint(namespace = 'payments') {
      const answer = await sts.exchange({
        grant_type: TOKEN_EXCHANGE,
        subject_token: await sts.cluster.serviceAccountToken({ namespace }),
        subject_token_type: JWT_TOKEN_TYPE,
        audience: 'ledger-api',
      })
      return String(answer.body.access_token)
    },
    async revokeToken(token) {
      const jti = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti
      await sts.app.inject({
        method: 'POST',
        url: '/v1/revocations',
        headers: sts.admin,
        payload: { kind: 'token', value: jti, reason: 'test' },
      })
      // Heard on the stream within milliseconds; waited for, so the answers below are decided.
      for (let i = 0; i < 200; i++) {
        if (
          await verifier.verify(token).then(
            () => false,
            () => true,
          )
        )
          return
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      throw new Error('the revocation was not heard')
    },
  }
}

/** What each adapter must answer, request by request: the same table for Fastify and Express. */
export interface ExpectedAnswer {
  what: string
  path: string
  authorization?: string
  status: number
  challenge?: string
  body: Record<string, unknown>
  retryAfter?: string
}

export async function expectedAnswers(setup: ResourceServerSetup): Promise<ExpectedAnswer[]> {
  const token = await setup.mint()
  const revoked = await setup.mint('revoked')
  await setup.revokeToken(revoked)
  const bare = 'Bearer realm="ledger-api"'
  const description = 'a bearer token is required (Authorization: Bearer <token>)'
  return [
    { what: 'no token', path: '/entries', status: 401, challenge: bare, body: { error_description: description } },
    {
      what: 'another scheme',
      path: '/entries',
      authorization: 'Basic YWxpY2U6c2VjcmV0',
      status: 401,
      challenge: bare,
      body: { error_description: description },
    },
    {
      what: 'a malformed header',
      path: '/entries',
      authorization: 'Bearer two words',
      status: 400,
      challenge: 'Bearer realm="ledger-api", error="invalid_request", error_description="the Authorization header is not Bearer <token>"',
      body: { error: 'invalid_request', error_description: 'the Authorization header is not Bearer <token>' },
    },
    {
      what: 'not a token',
      path: '/entries',
      authorization: 'Bearer abc.def',
      status: 401,
      challenge:
        'Bearer realm="ledger-api", error="invalid_token", error_description="the token is not a compact JWS (three base64url parts)"',
      body: { error: 'invalid_token', error_description: 'the token is not a compact JWS (three base64url parts)' },
    },
    {
      what: 'a revoked token',
      path: '/entries',
      authorization: `Bearer ${revoked}`,
      status: 401,
      challenge: 'Bearer realm="ledger-api", error="invalid_token", error_description="the token is revoked (by token)"',
      body: { error: 'invalid_token', error_description: 'the token is revoked (by token)' },
    },
    {
      what: 'a scope the token lacks',
      path: '/entries/write',
      authorization: `Bearer ${token}`,
      status: 403,
      challenge:
        'Bearer realm="ledger-api", error="insufficient_scope", error_description="the token lacks the scope ledger:write", scope="ledger:write"',
      body: { error: 'insufficient_scope', error_description: 'the token lacks the scope ledger:write' },
    },
    {
      what: 'a valid token',
      path: '/entries',
      authorization: `Bearer ${token}`,
      status: 200,
      body: { subject: SUBJECT, scopes: ['ledger:read'] },
    },
    {
      what: 'revocations unknown for too long',
      path: '/blind',
      authorization: `Bearer ${token}`,
      status: 503,
      retryAfter: '5',
      body: {
        error: 'temporarily_unavailable',
        error_description: /^the revocation stream has been lost for longer than 0 ms: / as unknown as string,
      },
    },
  ]
}
