import Fastify from 'fastify'
import t from 'tap'
import { accessTokenPlugin } from '../../src/adapters/fastify.js'
import { expectedAnswers, resourceServerSetup } from '../support/resource-server.js'

t.test('the Fastify plugin answers as RFC 6750 says, and hands the route the verified token', async (t) => {
  const setup = await resourceServerSetup(t)
  const app = Fastify()
  t.teardown(() => app.close())
  await app.register(accessTokenPlugin, { verifier: setup.verifier, realm: 'ledger-api' })
  const answer = async (request: { workload: { subject: string; scopes: readonly string[] } | null }) => ({
    subject: request.workload!.subject,
    scopes: request.workload!.scopes,
  })
  app.get('/entries', { config: { sts: { scopes: ['ledger:read'] } } }, answer)
  app.get('/entries/write', { config: { sts: { scopes: ['ledger:write'] } } }, answer)
  app.get('/healthz', { config: { sts: false } }, async (request) => ({ ok: true, workload: request.workload }))
  await app.register(async (blind) => {
    await blind.register(accessTokenPlugin, { verifier: setup.blind, realm: 'ledger-api' })
    blind.get('/blind', answer)
  })

  for (const expected of await expectedAnswers(setup)) {
    const response = await app.inject({
      method: 'GET',
      url: expected.path,
      headers: expected.authorization === undefined ? {} : { authorization: expected.authorization },
    })
    t.equal(response.statusCode, expected.status, `${expected.what}: ${expected.status}`)
    t.equal(response.headers['www-authenticate'], expected.challenge, `${expected.what}: the challenge`)
    t.equal(response.headers['retry-after'], expected.retryAfter, `${expected.what}: Retry-After`)
    if (expected.status !== 200) t.equal(response.headers['cache-control'], 'no-store', `${expected.what}: not cached`)
    if (expected.status === 503) t.match(response.json(), expected.body, expected.what)
    else t.same(response.json(), expected.body, `${expected.what}: the body`)
  }
  t.same((await app.inject({ url: '/healthz' })).json(), { ok: true, workload: null }, 'a route left open needs no token')
  t.equal((await app.inject({ url: '/nowhere' })).statusCode, 404, 'no route: 404, not 401')
})
