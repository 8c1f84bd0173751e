import { createServer, type Server } from 'node:http'
import type { Logger } from 'pino'
import type { ScrapeSource } from './metrics.js'

/**
 * GET /metrics on a port of its own (`metrics.port`), so the metrics need not be reachable where the
 * token endpoint is. Nothing else is served there. Resolves once listening.
 */
export async function listenForScrapes(scrape: ScrapeSource, host: string, port: number, logger: Logger): Promise<Server> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('only GET /metrics is served on this port\n')
      return
    }
    scrape().then(
      ({ contentType, body }) => response.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' }).end(body),
      (error: unknown) => {
        logger.warn({ err: { message: (error as Error).message } }, 'metrics scrape failed')
        response.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics are not available right now\n')
      },
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ host, port }, () => {
      server.off('error', reject)
      resolve()
    })
  })
  logger.info({ host, port }, 'metrics served at GET /metrics on their own port')
  return server
}
