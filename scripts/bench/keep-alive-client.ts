import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'

export interface Answer {
  status: number
  body: string
  /** performance.now() when the status line and headers arrived. */
  at: number
}

/** One keep-alive connection, one request in flight: no connection set-up inside a measured interval. */
export class KeepAliveClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 })
  private readonly url: URL

  constructor(
    baseUrl: string,
    private readonly timeoutMs: number,
  ) {
    this.url = new URL(baseUrl)
  }

  call(method: string, path: string, headers: Record<string, string>, body: Buffer, contentType = 'application/json'): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          agent: this.agent,
          host: this.url.hostname,
          port: this.url.port,
          method,
          path,
          // An empty body has no type: Fastify refuses an empty JSON body.
          headers: { ...headers, ...(body.length > 0 ? { 'content-type': contentType } : {}), 'content-length': body.length },
        },
        (res) => {
          const at = performance.now()
          const chunks: Buffer[] = []
          res.on('data', (chunk: Buffer) => chunks.push(chunk))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), at }))
          res.on('error', reject)
        },
      )
      req.setTimeout(this.timeoutMs, () =>
        req.destroy(new Error(`${method} ${this.url.origin}${path}: no answer within ${this.timeoutMs / 1000} s`)),
      )
      req.on('error', reject)
      req.end(body)
    })
  }

  close(): void {
    this.agent.destroy()
  }
}
