import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { parseConfig } from '../../src/config.js'
import { httpRequest, openRaw } from '../support/raw-http.js'
import { startTestService } from '../support/service.js'
import { openSse } from '../support/sse.js'

/** The timeouts are short here; the bounds checked are generous: they prove "it ends", not when. */
const HTTP = { requestTimeoutMs: 1000, headersTimeoutMs: 500, keepAliveTimeoutMs: 1000 }
const within = <T>(ms: number, promise: Promise<T>) =>
  Promise.race([promise, new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), ms).unref())])
// Time let pass on purpose, never a wait for something to happen: the slow clients' pace, and long
// enough for a stream to outlive several request timeouts.
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function listening(t: Test) {
  const sts = await startTestService(t, { config: { http: HTTP } })
  await sts.app.listen({ host: '127.0.0.1', port: 0 })
  return { sts, url: `http://127.0.0.1:${(sts.app.server.address() as AddressInfo).port}` }
}

t.test('a client sending its body a byte at a time is cut off at the request timeout', async (t) => {
  const { url } = await listening(t)
  const slow = await openRaw(url)
  slow.write(
    httpRequest('POST', '/oauth2/token', { 'content-type': 'application/x-www-form-urlencoded' }).replace(
      'content-length: 0',
      'content-length: 100',
    ),
  )
  let sending = true
  void (async () => {
    for (let i = 0; i < 100 && sending && !slow.socket.destroyed; i++) {
      slow.write('a')
      await pause(200)
    }
  })()
  const answer = await within(10_000, slow.closed)
  sending = false
  t.match(answer, /^HTTP\/1\.1 408 /, 'answered 408 and closed, long before the 100 bytes would have come')
})

t.test('a client sending its headers slowly is cut off at the headers timeout', async (t) => {
  const { url } = await listening(t)
  const slow = await openRaw(url)
  let sending = true
  void (async () => {
    for (const char of 'GET /healthz HTTP/1.1\r\nhost: sts.test\r\nx-slow: ' + 'a'.repeat(100)) {
      if (!sending || slow.socket.destroyed) return
      slow.write(char)
      await pause(100)
    }
  })()
  const answer = await within(10_000, slow.closed)
  sending = false
  t.match(answer, /^HTTP\/1\.1 408 /)
})

t.test('an idle kept-alive connection is closed at the keep-alive timeout', async (t) => {
  const { url } = await listening(t)
  const idle = await openRaw(url)
  t.equal((await idle.request(httpRequest('GET', '/healthz', {}))).status, 200)
  t.equal(await within(10_000, idle.closed), '', 'closed by the server')
})

t.test('the revocation stream outlives the request timeout: only receiving the request is bounded', async (t) => {
  const { sts, url } = await listening(t)
  const stream = await openSse(`${url}/v1/revocations/stream`, sts.admin)
  t.teardown(() => stream.close())
  t.equal(stream.status, 200)
  // Several request timeouts and connection checks later...
  await pause(3000)
  const revoked = await sts.app.inject({
    method: 'POST',
    url: '/v1/revocations',
    headers: sts.admin,
    payload: { kind: 'subject', value: 'spiffe://example.org/gone', reason: 'test' },
  })
  t.equal(revoked.statusCode, 201)
  t.match(await stream.next(5000), { event: 'revoked', data: /spiffe:\/\/example\.org\/gone/ }, 'the stream is still open and delivers')
})

t.test('the timeouts have defaults and are checked against each other', async (t) => {
  const base = { issuer: 'https://sts.example', trustDomain: 'example.org', audience: 'sts' }
  const config = parseConfig(base)
  t.same(config.http, { requestTimeoutMs: 30_000, headersTimeoutMs: 10_000, keepAliveTimeoutMs: 72_000 })
  t.same(config.shutdown, { drainSeconds: 10 })
  t.throws(() => parseConfig({ ...base, http: { requestTimeoutMs: 1000, headersTimeoutMs: 2000 } }), {
    message: /http\.headersTimeoutMs: headersTimeoutMs cannot exceed requestTimeoutMs/,
  })
  t.throws(() => parseConfig({ ...base, shutdown: { drainSeconds: 0 } }), { message: /shutdown\.drainSeconds/ })
})
