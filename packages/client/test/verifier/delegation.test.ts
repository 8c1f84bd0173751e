import { createHash, randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import express from 'express'
import Fastify from 'fastify'
import t, { type Test } from 'tap'
import { makeDpopKey, makeProof, type DpopKey } from '../../../../test/support/dpop.js'
import { ISSUER, startTestService, TRUST_DOMAIN, type TestService } from '../../../../test/support/service.js'
import { accessTokenMiddleware, type RequestWithWorkload } from '../../src/adapters/express.js'
import { accessTokenPlugin } from '../../src/adapters/fastify.js'
import { createVerifier, TokenRefusedError, type ActorClaim, type ResourceRequest, type Verifier } from '../../src/index.js'
import { signToken, startJwksServer, testKey, type TestKey } from '../support/issuer.js'

// Delegation (`act`) and downscoping (`ancestor_jtis`) at the resource server: revocations made on the
// real service (Postgres, Redis) and heard on its stream, against tokens signed here with those claims
// (the verifier's check of them does not depend on how the STS comes to mint them).

const SUBJECT = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`
const PLANNER = `spiffe://${TRUST_DOMAIN}/agents/planner`
const ROUTER = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/tools/sa/router`
const URL_CALLED = 'https://ledger.example/entries'

interface Setup {
  sts: TestService
  verifier: Verifier
  key: TestKey
  dpopKey: DpopKey
  /** A token for SUBJECT with `extra` claims, signed by `key`; bound to `dpopKey` when `bound`. */
  token(extra: Record<string, unknown>, bound?: boolean): string
  /** A request presenting a bound token with a fresh proof of GET URL_CALLED. */
  dpopRequest(token: string): Promise<ResourceRequest>
  revoke(kind: 'subject' | 'token', value: string): Promise<void>
}

async function setUp(t: Test): Promise<Setup> {
  const sts = await startTestService(t, { config: { limits: { adminRequestsPerMinute: 0 } } })
  const address = await sts.app.listen({ host: '127.0.0.1', port: 0 })
  const made = await sts.app.inject({
    method: 'POST',
    url: '/v1/admin-tokens',
    headers: sts.admin,
    payload: { name: 'ledger-api', roles: ['revocations:subscribe'] },
  })
  const key = testKey('delegation-key')
  const jwks = await startJwksServer(t, [key])
  const verifier = createVerifier({
    issuer: ISSUER,
    audience: 'ledger-api',
    sts: address,
    jwks: { uri: jwks.uri },
    revocations: { subscribeToken: made.json().token, onStreamLost: { refuseAfterMs: 5000 } },
    now: () => sts.clock.now(),
  })
  t.teardown(() => verifier.close())
  await verifier.ready()
  const dpopKey = await makeDpopKey('ES256')
  const seconds = () => Math.floor(sts.clock.now() / 1000)
  return {
    sts,
    verifier,
    key,
    dpopKey,
    token(extra, bound = false) {
      const now = seconds()
      return signToken(key, {
        iss: ISSUER,
        sub: SUBJECT,
        aud: 'ledger-api',
        exp: now + 300,
        iat: now,
        jti: randomUUID(),
        client_id: SUBJECT,
        scope: 'ledger:read',
        grants: [],
        src_h: [],
        ...(bound ? { cnf: { jkt: dpopKey.jkt } } : {}),
        ...extra,
      })
    },
    async dpopRequest(token) {
      const ath = createHash('sha256').update(token).digest('base64url')
      const dpop = await makeProof(dpopKey, seconds(), { claims: { htm: 'GET', htu: URL_CALLED, ath } })
      return { method: 'GET', url: URL_CALLED, headers: { authorization: `DPoP ${token}`, dpop } }
    },
    async revoke(kind, value) {
      const response = await sts.app.inject({
        method: 'POST',
        url: '/v1/revocations',
        headers: sts.admin,
        payload: { kind, value, reason: 'agent compromised' },
      })
      if (response.statusCode !== 201) throw new Error(`revocation refused: ${response.statusCode} ${response.body}`)
    },
  }
}

/** What verifying says: the actors and ancestors of an accepted token, or the code and kind of a refusal. */
async function outcome(verification: Promise<{ actors: readonly string[]; ancestorTokenIds: readonly string[] }>) {
  try {
    const { actors, ancestorTokenIds } = await verification
    return { accepted: { actors, ancestorTokenIds } }
  } catch (error) {
    if (error instanceof TokenRefusedError) return { refused: error.code, by: error.revokedBy }
    throw error
  }
}

/** Waits (5 s at most) until the stream has brought a revocation that refuses `token`. */
async function refusedInTime(verifier: Verifier, token: string): Promise<boolean> {
  const since = performance.now()
  while (performance.now() - since < 5000) {
    if ('refused' in (await outcome(verifier.verify(token)))) return true
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return false
}

t.test(
  'a token is refused once any actor of its chain, or any token it came from, is revoked; unrelated revocations leave it',
  async (t) => {
    const setup = await setUp(t)
    const { verifier } = setup
    const ancestor = randomUUID()
    const cases: Array<{
      what: string
      act?: ActorClaim
      ancestors?: string[]
      actors: string[]
      revoke: ['subject' | 'token', string]
      by: string
    }> = [
      {
        what: 'the current actor, revoked by its exact subject',
        act: { sub: `spiffe://${TRUST_DOMAIN}/agents/summariser`, act: { sub: ROUTER } },
        actors: [`spiffe://${TRUST_DOMAIN}/agents/summariser`, ROUTER],
        revoke: ['subject', `spiffe://${TRUST_DOMAIN}/agents/summariser`],
        by: 'subject',
      },
      {
        what: 'an earlier actor of the chain, revoked by a glob',
        act: { sub: PLANNER, act: { sub: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/compromised/sa/router` } },
        actors: [PLANNER, `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/compromised/sa/router`],
        revoke: ['subject', `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/compromised/**`],
        by: 'subject',
      },
      {
        what: 'a token it was narrowed from, revoked by its jti',
        ancestors: [randomUUID(), ancestor],
        actors: [],
        revoke: ['token', ancestor],
        by: 'token',
      },
    ]
    // Revocations that name neither the bystander nor any case's token: the bystander outlives them all.
    const bystanderAncestor = randomUUID()
    const bystander = { act: { sub: PLANNER, act: { sub: ROUTER } }, ancestor_jtis: [bystanderAncestor] }
    await setup.revoke('subject', `${PLANNER}-old`)
    await setup.revoke('subject', `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/tool/**`)
    await setup.revoke('token', randomUUID())

    for (const { what, act, ancestors, actors, revoke, by } of cases) {
      const claims = { ...(act ? { act } : {}), ...(ancestors ? { ancestor_jtis: ancestors } : {}) }
      const bearer = setup.token(claims)
      const bound = setup.token(claims, true)
      const accepted = { accepted: { actors, ancestorTokenIds: ancestors ?? [] } }
      t.same(await outcome(verifier.verify(bearer)), accepted, `${what}: accepted before (verify)`)
      t.same(await outcome(verifier.verifyRequest(await setup.dpopRequest(bound))), accepted, `${what}: accepted before (verifyRequest)`)
      await setup.revoke(...revoke)
      t.ok(await refusedInTime(verifier, bearer), `${what}: refused once the revocation is heard`)
      t.same(await outcome(verifier.verify(bearer)), { refused: 'token_revoked', by }, `${what}: refused by verify`)
      t.same(
        await outcome(verifier.verifyRequest(await setup.dpopRequest(bound))),
        { refused: 'token_revoked', by },
        `${what}: refused by verifyRequest, a DPoP-bound token with a good proof`,
      )
    }

    t.equal(verifier.status().held, 6, 'every revocation was heard (the stream is in order)')
    const expected = { accepted: { actors: [PLANNER, ROUTER], ancestorTokenIds: [bystanderAncestor] } }
    t.same(await outcome(verifier.verify(setup.token(bystander))), expected, 'a bystander is still accepted (verify)')
    t.same(
      await outcome(verifier.verifyRequest(await setup.dpopRequest(setup.token(bystander, true)))),
      expected,
      'a bystander is still accepted (verifyRequest)',
    )
  },
)

t.test('the adapters hand the route the delegation chain, and refuse a token whose actor is revoked', async (t) => {
  const setup = await setUp(t)
  const act = { sub: PLANNER, act: { sub: ROUTER } }
  const ancestors = [randomUUID()]
  const delegation = (workload: RequestWithWorkload['workload'] | null) => ({
    subject: workload!.subject,
    actors: workload!.actors,
    act: workload!.act,
    ancestorTokenIds: workload!.ancestorTokenIds,
  })
  const fastify = Fastify()
  t.teardown(() => fastify.close())
  await fastify.register(accessTokenPlugin, { verifier: setup.verifier, realm: 'ledger-api', origin: 'https://ledger.example' })
  fastify.get('/entries', async (request) => delegation(request.workload))
  const app = express()
  app.get('/entries', accessTokenMiddleware(setup.verifier, { realm: 'ledger-api' }), (req: RequestWithWorkload, res) => {
    res.json(delegation(req.workload))
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const expressUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/entries`

  const bound = () => setup.token({ act, ancestor_jtis: ancestors }, true)
  const viaFastify = async (token: string) => {
    const { headers } = await setup.dpopRequest(token)
    const response = await fastify.inject({ method: 'GET', url: '/entries', headers: headers as Record<string, string> })
    return { status: response.statusCode, challenge: response.headers['www-authenticate'], body: response.json() }
  }
  const bearer = setup.token({ act, ancestor_jtis: ancestors })
  const viaExpress = async () => {
    const response = await fetch(expressUrl, { headers: { authorization: `Bearer ${bearer}` } })
    return { status: response.status, challenge: response.headers.get('www-authenticate') ?? undefined, body: await response.json() }
  }
  const body = { subject: SUBJECT, actors: [PLANNER, ROUTER], act, ancestorTokenIds: ancestors }
  t.same(await viaFastify(bound()), { status: 200, challenge: undefined, body }, 'Fastify: request.workload has the chain')
  t.same(await viaExpress(), { status: 200, challenge: undefined, body }, 'Express: req.workload has the chain')

  await setup.revoke('subject', `spiffe://${TRUST_DOMAIN}/agents/**`)
  t.ok(await refusedInTime(setup.verifier, bearer), 'the revocation is heard')
  const description = 'the token is revoked (by subject)'
  t.same(
    await viaFastify(bound()),
    {
      status: 401,
      challenge: `DPoP realm="ledger-api", error="invalid_token", error_description="${description}"`,
      body: { error: 'invalid_token', error_description: description },
    },
    'Fastify: refused',
  )
  t.same(
    await viaExpress(),
    {
      status: 401,
      challenge: `Bearer realm="ledger-api", error="invalid_token", error_description="${description}"`,
      body: { error: 'invalid_token', error_description: description },
    },
    'Express: refused',
  )
})
