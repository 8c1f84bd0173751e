import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base'
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions'
import type { Database } from '../db/database.js'
import type { ExchangeObserver } from '../observability/exchange-observer.js'
import { ExchangeTracer } from './exchange-tracer.js'
import { SpanScope } from './span-scope.js'
import { tracedDatabase } from './traced-database.js'
import { tracedRedisCommands, type RedisCommandTracer } from './traced-redis.js'
import { traceHeaders, tracedJwksFetcher } from './traced-jwks.js'
import type { JwksFetcher } from '../jose/jwks-fetcher.js'
import type { IntrospectionTracer } from '../observability/observers.js'
import { introspectionTracer } from './introspection-tracer.js'

export interface TracingOptions {
  /** The traces URL of an OTLP/HTTP collector (config.tracing.endpoint). */
  endpoint: string
  serviceName: string
  /** Where spans go instead of OTLP, each as it ends (tests: an InMemorySpanExporter). */
  exporter?: SpanExporter
}

/** What the composition root decorates with traces when `tracing.enabled` is true. */
export interface Tracing {
  readonly exchanges: ExchangeObserver
  readonly introspections: IntrospectionTracer
  database(database: Database): Database
  readonly redis: RedisCommandTracer
  /** A span around each key set fetched in an exchange. */
  jwks(fetcher: JwksFetcher): JwksFetcher
  /** The W3C headers of the span running now, for an outgoing request (the JWKS fetcher's). */
  readonly outgoingHeaders: () => Record<string, string>
  /** Sends the spans still buffered, then stops. */
  shutdown(): Promise<void>
}

/**
 * Traces exported by OTLP over HTTP (protobuf), in batches off the request path. Nothing is registered
 * globally (no global tracer provider, context manager or propagator): the spans come from our seams
 * (the exchange observer, the database, the Redis connections), built here and passed in by
 * src/compose.ts, which imports this module only when tracing is on.
 */
export function openTracing(options: TracingOptions): Tracing {
  const processor = options.exporter
    ? new SimpleSpanProcessor(options.exporter)
    : new BatchSpanProcessor(new OTLPTraceExporter({ url: options.endpoint }))
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    spanProcessors: [processor],
  })
  const tracer = provider.getTracer('seed-sts')
  const scope = new SpanScope()
  return {
    exchanges: new ExchangeTracer(tracer, scope),
    introspections: introspectionTracer(tracer, scope),
    database: (database) => tracedDatabase(database, tracer, scope),
    redis: tracedRedisCommands(tracer, scope),
    jwks: (fetcher) => tracedJwksFetcher(fetcher, tracer, scope),
    outgoingHeaders: traceHeaders(scope),
    shutdown: () => provider.shutdown(),
  }
}
