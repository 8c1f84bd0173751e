import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import type {
  ExchangeObservation,
  ExchangeObserver,
  ExchangeOutcome,
  ExchangePhase,
  RequestHeaders,
} from '../observability/exchange-observer.js'
import type { SpanScope } from './span-scope.js'

export const EXCHANGE_SPAN = 'sts.token_exchange'

/**
 * Attribute names of the exchange spans. Never the attestation, the access token or its jti: the
 * attestation and the token are credentials, and the jti names a live token (the ledger answers who
 * holds it). The subject is an identity, not a secret, and the refusal log names it already; a trace
 * without it could not be tied to the workload that asked.
 */
export const ATTRIBUTES = {
  attestorName: 'sts.attestor.name',
  attestorKind: 'sts.attestor.kind',
  subject: 'sts.subject',
  outcome: 'sts.outcome',
  error: 'oauth.error',
  reason: 'sts.reason',
} as const

const headerGetter = {
  get: (carrier: RequestHeaders, key: string) => carrier[key],
  keys: (carrier: RequestHeaders) => Object.keys(carrier),
}

/**
 * Traces token exchanges: a SERVER span per request, a child of the caller's span when the request
 * carries a W3C `traceparent`, and a child span per phase (`sts.attest`, `sts.grants`...), in whose
 * context the phase's database and Redis calls run (SpanScope).
 */
export class ExchangeTracer implements ExchangeObserver {
  private readonly propagator = new W3CTraceContextPropagator()

  constructor(
    private readonly tracer: Tracer,
    private readonly scope: SpanScope,
  ) {}

  begin(headers?: RequestHeaders): ExchangeObservation {
    const parent = headers ? this.propagator.extract(ROOT_CONTEXT, headers, headerGetter) : ROOT_CONTEXT
    return new TracedExchange(this.tracer, this.scope, parent)
  }
}

class TracedExchange implements ExchangeObservation {
  private readonly span: Span
  private readonly context: Context
  private open: { phase: ExchangePhase; span: Span } | undefined

  constructor(
    private readonly tracer: Tracer,
    private readonly scope: SpanScope,
    parent: Context,
  ) {
    this.span = tracer.startSpan(EXCHANGE_SPAN, { kind: SpanKind.SERVER }, parent)
    this.context = trace.setSpan(parent, this.span)
  }

  attestor(name: string, kind: string): void {
    this.span.setAttribute(ATTRIBUTES.attestorName, name)
    this.span.setAttribute(ATTRIBUTES.attestorKind, kind)
  }

  attested(subject: string, attestor: string, kind: string): void {
    this.attestor(attestor, kind)
    this.span.setAttribute(ATTRIBUTES.subject, subject)
  }

  phaseStarted(phase: ExchangePhase): void {
    const span = this.tracer.startSpan(`sts.${phase}`, { kind: SpanKind.INTERNAL }, this.context)
    this.open = { phase, span }
    this.scope.enter(trace.setSpan(this.context, span))
  }

  phaseEnded(phase: ExchangePhase): void {
    if (this.open?.phase !== phase) return
    this.open.span.end()
    this.open = undefined
    this.scope.enter(this.context)
  }

  finished(outcome: ExchangeOutcome): void {
    // The phase still open is the one that failed.
    if (this.open) {
      setStatus(this.open.span, outcome)
      this.open.span.end()
      this.open = undefined
    }
    this.span.setAttribute(ATTRIBUTES.outcome, outcome.outcome)
    if (outcome.outcome !== 'issued') {
      this.span.setAttribute(ATTRIBUTES.error, outcome.error)
      this.span.setAttribute(ATTRIBUTES.reason, outcome.reason)
    }
    setStatus(this.span, outcome)
    this.span.end()
  }
}

/**
 * OK when issued; an error when we could not answer (503, 500); left unset for a refusal, as the HTTP
 * conventions do for a server's 4xx: the request was wrong, not the service (its outcome says so).
 */
function setStatus(span: Span, outcome: ExchangeOutcome): void {
  if (outcome.outcome === 'issued') span.setStatus({ code: SpanStatusCode.OK })
  else if (outcome.outcome !== 'refused') span.setStatus({ code: SpanStatusCode.ERROR, message: `${outcome.error}: ${outcome.reason}` })
}
