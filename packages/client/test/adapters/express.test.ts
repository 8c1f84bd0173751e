import type { AddressInfo } from 'node:net'
import express from 'express'
import t from 'tap'
import { accessTokenMiddleware, type RequestWithWorkload } from '../../src/adapters/express.js'
import { expectedAnswers, resourceServerSetup } from '../support/resource-server.js'

t.test('the Express middleware answers as RFC 6750 says, and hands the route the verified token', async (t) => {
  const setup = await resourceServerSetup(t)
  const app = express()
  const answer = (req: RequestWithWorkload, res: express.Response) => {
    res.json({ subject: req.workload!.subject, scopes: req.workload!.scopes })
  }
  app.get('/entries', accessTokenMiddleware(setup.verifier, { scopes: ['ledger:read'], realm: 'ledger-api' }), answer)
  app.get('/entries/write', accessTokenMiddleware(setup.verifier, { scopes: ['ledger:write'], realm: 'ledger-api' }), answer)
  app.get('/blind', accessTokenMiddleware(setup.blind, { realm: 'ledger-api' }), answer)
  // Anything but a refusal goes to Express's error handling.
  const broken = {
    verify: () => Promise.reject(new Error('a bug')),
    verifyRequest: () => Promise.reject(new Error('a bug')),
  } as unknown as Parameters<typeof accessTokenMiddleware>[0]
  app.get('/broken', accessTokenMiddleware(broken), answer)
  app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    res.status(500).json({ handled: error.message })
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  for (const expected of await expectedAnswers(setup)) {
    const response = await fetch(`${base}${expected.path}`, {
      headers: expected.authorization === undefined ? {} : { authorization: expected.authorization },
    })
    t.equal(response.status, expected.status, `${expected.what}: ${expected.status}`)
    t.equal(response.headers.get('www-authenticate') ?? undefined, expected.challenge, `${expected.what}: the challenge`)
    t.equal(response.headers.get('retry-after') ?? undefined, expected.retryAfter, `${expected.what}: Retry-After`)
    if (expected.status !== 200) t.equal(response.headers.get('cache-control'), 'no-store', `${expected.what}: not cached`)
    const body = await response.json()
    if (expected.status === 503) t.match(body, expected.body, expected.what)
    else t.same(body, expected.body, `${expected.what}: the body`)
  }
  const token = await setup.mint()
  const broke = await fetch(`${base}/broken`, { headers: { authorization: `Bearer ${token}` } })
  t.same({ status: broke.status, body: await broke.json() }, { status: 500, body: { handled: 'a bug' } })
})
