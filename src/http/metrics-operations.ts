import { z } from 'zod'
import { prose } from '../lib/prose.js'
import { operation } from './openapi/operation.js'
import { ServiceUnavailable } from './problem-responses.js'

export const metricsOperations = {
  scrape: operation({
    tags: ['metrics'],
    operationId: 'getMetrics',
    summary: 'Prometheus metrics',
    description: prose`
      The service's metrics in the Prometheus text exposition format (README, "Metrics", lists every
      name and label). With several workers, the whole process group's, combined. Served here unless
      \`metrics.port\` names a port of its own (then only there), absent with \`metrics.enabled: false\`.
      Unauthenticated, like the probes: expose it to the scraper only.
    `,
    responses: {
      200: {
        description: 'The metrics.',
        content: {
          'text/plain; version=0.0.4; charset=utf-8': {
            schema: z.string(),
            example: '# HELP sts_token_exchanges_total Token requests answered...\n# TYPE sts_token_exchanges_total counter\n',
          },
        },
      },
      503: ServiceUnavailable,
    },
  }),
}
