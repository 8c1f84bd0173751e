import type { FastifyInstance } from 'fastify'
import type { ExchangeObservation, ExchangeObserver, ExchangeOutcome, ExchangePhase } from '../observability/exchange-observer.js'
import { oauthCodeOf, type Failure } from './error-mapping.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The token request being answered: who asked, as far as the exchange got; null on other routes. */
    exchangeRecord: ExchangeRecord | null
  }
}

/** Who asked for a token, as far as the exchange got before it answered: for the refusal log line. */
export interface ExchangeIdentity {
  /** Known once the attestation is verified. */
  sub?: string
  /** Known once the attestation is routed to a configured attestor (before it is verified). */
  attestor?: string
  attestorKind?: string
}

/**
 * One token request as the HTTP layer sees it: it remembers who asked (for the log line of a refusal,
 * whether or not anything else observes the exchange) and passes every hook on to the observers.
 */
export class ExchangeRecord implements ExchangeObservation {
  private readonly identity: ExchangeIdentity = {}

  constructor(private readonly next: ExchangeObservation) {}

  attestor(name: string, kind: string): void {
    this.identity.attestor = name
    this.identity.attestorKind = kind
    this.next.attestor(name, kind)
  }

  attested(subject: string, attestor: string, kind: string): void {
    this.identity.sub = subject
    this.identity.attestor = attestor
    this.identity.attestorKind = kind
    this.next.attested(subject, attestor, kind)
  }

  phaseStarted(phase: ExchangePhase): void {
    this.next.phaseStarted(phase)
  }

  phaseEnded(phase: ExchangePhase): void {
    this.next.phaseEnded(phase)
  }

  finished(outcome: ExchangeOutcome): void {
    this.next.finished(outcome)
  }

  who(): ExchangeIdentity {
    return this.identity
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    /** How the request failed, as the error handler mapped it; null when it did not. */
    failure: Failure | null
  }
}

/** Decorates every request with its (empty) exchange record and failure: call once, on the root. */
export function decorateExchangeRecords(app: FastifyInstance): void {
  app.decorateRequest('exchangeRecord', null)
  app.decorateRequest('failure', null)
}

/**
 * Observes every request of the scope as a token exchange, from its arrival (before the rate limit
 * and the body, so their refusals are counted too) to its answer. Call it in the token route's scope.
 */
export function observeExchanges(scope: FastifyInstance, observer: ExchangeObserver): void {
  scope.addHook('onRequest', (request, _reply, done) => {
    request.exchangeRecord = new ExchangeRecord(observer.begin(request.headers))
    done()
  })
  scope.addHook('onResponse', (request, reply, done) => {
    // Refused before this scope's onRequest ran (while draining): counted all the same.
    const record = request.exchangeRecord ?? observer.begin(request.headers)
    record.finished(outcomeOf(reply.statusCode, request.failure))
    done()
  })
}

const ISSUED: ExchangeOutcome = { outcome: 'issued', error: 'none', reason: 'none' }

/** The answer in the terms of the metrics: bounded values only (OAuth codes and our reasons). */
export function outcomeOf(status: number, failure: Failure | null): ExchangeOutcome {
  if (status < 400) return ISSUED
  // Shed under overload (src/http/overload.ts) is a 503 too, but a matter of capacity, not a failure.
  const outcome = failure?.reason === 'overloaded' ? 'shed' : status === 503 ? 'unavailable' : status >= 500 ? 'error' : 'refused'
  if (failure === null) {
    // Not through our error handler (a timeout Node answered itself): what little is known.
    return status >= 500
      ? { outcome, error: 'server_error', reason: 'internal_error' }
      : { outcome, error: 'invalid_request', reason: 'request_invalid' }
  }
  return { outcome, error: oauthCodeOf(failure), reason: failure.reason }
}
