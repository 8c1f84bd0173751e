import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import type { IntrospectionTracer } from '../observability/observers.js'
import type { SpanScope } from './span-scope.js'

export const INTROSPECTION_SPAN = 'sts.introspection'

type Headers = Readonly<Record<string, string | string[] | undefined>>

const headerGetter = {
  get: (carrier: Headers, key: string) => carrier[key],
  keys: (carrier: Headers) => Object.keys(carrier),
}

/**
 * A SERVER span per authenticated introspection (`sts.introspection`), the caller's `traceparent` its
 * parent, with the answer's `sts.active` and HTTP status: never the token, its jti or its subject
 * (introspection is asked by resource servers about someone else's token).
 */
export function introspectionTracer(tracer: Tracer, scope: SpanScope): IntrospectionTracer {
  const propagator = new W3CTraceContextPropagator()
  return {
    begin(headers) {
      const parent = propagator.extract(ROOT_CONTEXT, headers, headerGetter)
      const span = tracer.startSpan(INTROSPECTION_SPAN, { kind: SpanKind.SERVER }, parent)
      const context = trace.setSpan(parent, span)
      return {
        entered: () => scope.enter(context),
        finished(status, active) {
          span.setAttribute('http.response.status_code', status)
          if (active !== undefined) span.setAttribute('sts.active', active)
          if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR, message: `HTTP ${status}` })
          else if (status < 400) span.setStatus({ code: SpanStatusCode.OK })
          span.end()
        },
      }
    },
  }
}
