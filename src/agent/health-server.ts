import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'

/**
 * The agent's own endpoint: GET /healthz (the process answers), GET /readyz (200 while every token
 * file holds an unexpired token, else 503, with each file's state) and GET /metrics. Nothing in the
 * answers is a secret: paths, audiences, scopes and expiry times.
 */

export interface TokenFileState {
  file: string
  audience: string
  scope?: string
  ready: boolean
  expiresAt?: string
}

export interface HealthSources {
  readiness(): Promise<TokenFileState[]>
  registry: Registry
}

export async function listenForHealth(sources: HealthSources, host: string, port: number, logger: Logger): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]
    const send = (status: number, contentType: string, body: string): void => {
      response
        .writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' })
        .end(request.method === 'HEAD' ? undefined : body)
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') return send(405, 'text/plain; charset=utf-8', 'only GET and HEAD\n')
    const answer = async (): Promise<void> => {
      if (path === '/healthz') return send(200, 'application/json', '{"status":"ok"}\n')
      if (path === '/readyz') {
        const tokens = await sources.readiness()
        const ready = tokens.every((token) => token.ready)
        return send(ready ? 200 : 503, 'application/json', `${JSON.stringify({ status: ready ? 'ready' : 'not ready', tokens })}\n`)
      }
      if (path === '/metrics') return send(200, sources.registry.contentType, await sources.registry.metrics())
      send(404, 'text/plain; charset=utf-8', 'GET /healthz, /readyz or /metrics\n')
    }
    answer().catch((error: unknown) => {
      logger.warn({ path, error: (error as Error).message }, 'health endpoint failed to answer')
      if (!response.headersSent) send(503, 'text/plain; charset=utf-8', 'not available right now\n')
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host, port }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  // A fault after listening (a client resetting its connection) is logged, never the end of the agent.
  server.on('error', (error) => logger.warn({ error: error.message }, 'health endpoint error'))
  logger.info({ host, port: (server.address() as AddressInfo).port }, 'health endpoint: GET /healthz, /readyz, /metrics')
  return server
}
