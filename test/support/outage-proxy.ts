import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

/**
 * An HTTP proxy in front of a service that can play an outage: while `down`, every request is
 * answered 503 with the body the STS sends when its stores cannot be reached (and a Retry-After if
 * one is set), as a load balancer in front of unhealthy instances, or the instances themselves, would.
 * Otherwise the request goes through to the service, and its answer comes back as it was.
 */
export interface OutageProxy {
  url: string
  down: boolean
  /** Sent as `Retry-After` with each 503, when set. */
  retryAfterSeconds?: number
}

export async function startOutageProxy(t: Test, target: () => string): Promise<OutageProxy> {
  const proxy: OutageProxy = { url: '', down: false }
  const server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      if (proxy.down) {
        const retryAfter = proxy.retryAfterSeconds === undefined ? {} : { 'retry-after': String(proxy.retryAfterSeconds) }
        response.writeHead(503, { 'content-type': 'application/json', 'cache-control': 'no-store', ...retryAfter })
        response.end(
          JSON.stringify({
            error: 'temporarily_unavailable',
            error_description: 'the ledger cannot be reached',
            error_reason: 'ledger_unavailable',
          }),
        )
        return
      }
      const headers = Object.fromEntries(
        Object.entries(request.headers).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[0] !== 'host'),
      )
      fetch(`${target()}${request.url ?? '/'}`, {
        method: request.method ?? 'GET',
        headers,
        ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
      }).then(
        async (answer) => {
          const body = Buffer.from(await answer.arrayBuffer())
          response.writeHead(
            answer.status,
            Object.fromEntries([...answer.headers].filter(([name]) => name !== 'content-encoding' && name !== 'transfer-encoding')),
          )
          response.end(body)
        },
        () => {
          response.writeHead(502)
          response.end()
        },
      )
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return proxy
}
