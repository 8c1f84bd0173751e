import type { SpanExporter } from '@opentelemetry/sdk-trace-base'
import type { Logger } from 'pino'
import type { Config } from '../config.js'
import { createHttpJwksFetcher, type JwksFetcher } from '../jose/jwks-fetcher.js'
import { workerScrape } from '../metrics/cluster-metrics.js'
import { NO_METRICS, type Metrics, type ScrapeSource } from '../metrics/metrics.js'
import { createPrometheusMetrics } from '../metrics/prometheus-metrics.js'
import type { Clock } from '../lib/clock.js'
import type { Tracing } from '../tracing/tracing.js'
import { isWorker } from '../workers.js'

/**
 * Prometheus metrics unless `metrics.enabled` is false. In a worker (workers > 1), a scrape asks the
 * primary for every worker's metrics combined (src/metrics/cluster-metrics.ts).
 */
export function openMetrics(config: Config, clock: Clock): { metrics: Metrics; scrape: ScrapeSource | undefined } {
  if (!config.metrics.enabled) return { metrics: NO_METRICS, scrape: undefined }
  const metrics = createPrometheusMetrics(clock)
  return { metrics, scrape: isWorker() ? workerScrape(metrics.registry) : metrics.scrape }
}

/**
 * OpenTelemetry traces with `tracing.enabled` (or the OTEL_* variables, src/config.ts). The module is
 * imported only then: with tracing off, nothing of OpenTelemetry is loaded or built.
 */
export async function openTracing(config: Config, logger: Logger, exporter: SpanExporter | undefined): Promise<Tracing | undefined> {
  if (!config.tracing.enabled) return undefined
  const { openTracing: open } = await import('../tracing/tracing.js')
  logger.info(
    { endpoint: exporter ? 'in process' : config.tracing.endpoint, serviceName: config.tracing.serviceName },
    'traces exported by OTLP',
  )
  return open({ endpoint: config.tracing.endpoint, serviceName: config.tracing.serviceName, ...(exporter ? { exporter } : {}) })
}

/** The key sets of attestation issuers fetched over HTTP (or as a test says), traced with tracing on. */
export function jwksFetcher(injected: JwksFetcher | undefined, tracing: Tracing | undefined): JwksFetcher {
  const fetcher = injected ?? createHttpJwksFetcher(5000, undefined, tracing?.outgoingHeaders)
  return tracing ? tracing.jwks(fetcher) : fetcher
}
