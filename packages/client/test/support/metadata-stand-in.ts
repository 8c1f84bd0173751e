import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Test } from 'tap'

/**
 * A local HTTP server standing in for a metadata endpoint (IMDS, the GCE metadata server, GitHub's
 * token service): it records each request and answers as the test's handler says, so a provider is
 * tested over real HTTP, headers and query strings included.
 */
export interface MetadataRequest {
  method: string
  path: string
  query: Record<string, string>
  headers: IncomingHttpHeaders
}

export interface MetadataAnswer {
  status?: number
  body: string
  headers?: Record<string, string>
}

export interface MetadataStandIn {
  /** `http://127.0.0.1:<port>` */
  url: string
  requests: MetadataRequest[]
}

export async function startMetadataStandIn(t: Test, answer: (request: MetadataRequest) => MetadataAnswer): Promise<MetadataStandIn> {
  const requests: MetadataRequest[] = []
  const server = createServer((incoming, response) => {
    const url = new URL(incoming.url ?? '/', 'http://stand-in')
    const request = {
      method: incoming.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: incoming.headers,
    }
    requests.push(request)
    incoming.resume()
    incoming.on('end', () => {
      const { status = 200, body, headers = {} } = answer(request)
      response.writeHead(status, { 'content-type': 'text/plain', ...headers })
      response.end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }
}

/** What a provider is given when a token source asks it: a live signal and a clock. */
export function context(now: number = Date.now()) {
  return { signal: new AbortController().signal, now: () => now }
}
