import { SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import type { JwksFetcher } from '../jose/jwks-fetcher.js'
import type { SpanScope } from './span-scope.js'

export const JWKS_SPAN = 'jwks.fetch'

const headerSetter = {
  set: (carrier: Record<string, string>, key: string, value: string) => {
    carrier[key] = value
  },
}

/**
 * The `traceparent` (and `tracestate`) of the span running now, for an outgoing request; none outside
 * an exchange, so a background refresh of a key set is not tied to whichever request came last.
 */
export function traceHeaders(scope: SpanScope): () => Record<string, string> {
  const propagator = new W3CTraceContextPropagator()
  return () => {
    const headers: Record<string, string> = {}
    const context = scope.current()
    if (context !== undefined) propagator.inject(context, headers, headerSetter)
    return headers
  }
}

/**
 * A CLIENT span (`jwks.fetch`, with the key set's URL: configuration, not a secret) around each fetch of
 * an issuer's key set made inside an exchange; the fetch runs in the span's context, so the issuer
 * receives the span as its parent.
 */
export function tracedJwksFetcher(fetcher: JwksFetcher, tracer: Tracer, scope: SpanScope): JwksFetcher {
  return async (url) => {
    const parent = scope.current()
    if (parent === undefined) return fetcher(url)
    const span = tracer.startSpan(JWKS_SPAN, { kind: SpanKind.CLIENT, attributes: { 'url.full': url } }, parent)
    try {
      return await scope.run(trace.setSpan(parent, span), () => fetcher(url))
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : 'error' })
      throw error
    } finally {
      span.end()
    }
  }
}
