import type { FastifyInstance } from 'fastify'
import { ServiceUnavailableError } from '../errors.js'
import type { ScrapeSource } from '../metrics/metrics.js'
import { metricsOperations } from './metrics-operations.js'

export interface MetricsRouteOptions {
  scrape: ScrapeSource
}

/** GET /metrics on the main port: the Prometheus text, this process's or (with workers) the group's. */
export async function metricsRoute(app: FastifyInstance, options: MetricsRouteOptions): Promise<void> {
  // Never shed: an overloaded instance is when its metrics matter most.
  app.get('/metrics', { config: { overload: 'never-shed' }, schema: metricsOperations.scrape }, async (_request, reply) => {
    let scrape
    try {
      scrape = await options.scrape()
    } catch (error) {
      throw new ServiceUnavailableError('the metrics cannot be gathered right now', 'service_unavailable', error)
    }
    return reply.header('cache-control', 'no-store').type(scrape.contentType).send(scrape.body)
  })
}
