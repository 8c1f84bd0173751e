/**
 * The seam the token exchange reports through: which attestor took the attestation, who it proved,
 * where each phase starts and ends, and how the exchange was answered. Metrics implement it
 * (src/metrics/), and so do traces (src/tracing/: a span per exchange, a child span per phase), the two
 * combined by allObservers in src/compose.ts. The exchange calls these on its hot path: an
 * implementation records a timestamp or bumps a pre-bound counter, nothing slower.
 */

/**
 * The phases of an exchange, in order. `registration` is observed only for attestations of instances
 * that must be registered (AWS, Azure). Phases never overlap: one ends before the next starts.
 */
export type ExchangePhase = 'attest' | 'grants' | 'revocation_check' | 'registration' | 'ledger_commit' | 'sign'

export const EXCHANGE_PHASES: readonly ExchangePhase[] = ['attest', 'grants', 'revocation_check', 'registration', 'ledger_commit', 'sign']

/**
 * How the token endpoint answered: `issued` (200), `refused` (a 4xx: the client's to fix),
 * `unavailable` (503: a store could not answer and we failed closed), `error` (500: our defect),
 * `shed` (503 `overloaded`: refused before any work, to keep the instance's answers timely; a matter
 * of capacity, not a failure, so apart from `unavailable`).
 */
export type ExchangeOutcomeKind = 'issued' | 'refused' | 'unavailable' | 'error' | 'shed'

export interface ExchangeOutcome {
  outcome: ExchangeOutcomeKind
  /** The OAuth `error` answered; `none` when issued. */
  error: string
  /** Our machine reason (src/error-reasons.ts); `none` when issued. */
  reason: string
}

/** Told by the attestor registry which configured attestor takes the attestation, before it is verified. */
export interface AttestorRouting {
  /** A configured attestor's name and kind: never anything the (untrusted) attestation says. */
  attestor(name: string, kind: string): void
}

/** One exchange, from the request's arrival to its answer. */
export interface ExchangeObservation extends AttestorRouting {
  /** The attestation is verified: who presented it (the subject is for logs and traces, never a metric label). */
  attested(subject: string, attestor: string, kind: string): void
  phaseStarted(phase: ExchangePhase): void
  phaseEnded(phase: ExchangePhase): void
  /** The answer went out. A phase still open (the one that failed) ends here. */
  finished(outcome: ExchangeOutcome): void
}

/** The request's headers as the HTTP layer has them: where a tracer finds an incoming W3C `traceparent`. */
export type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>

export interface ExchangeObserver {
  /** Called when a token request arrives, with its headers (untrusted: a client may send any `traceparent`). */
  begin(headers?: RequestHeaders): ExchangeObservation
}

/** Does nothing: for an exchange nobody observes (metrics off, tests of the exchange alone). */
export const NO_OBSERVATION: ExchangeObservation = {
  attestor() {},
  attested() {},
  phaseStarted() {},
  phaseEnded() {},
  finished() {},
}

export const NO_EXCHANGE_OBSERVER: ExchangeObserver = { begin: () => NO_OBSERVATION }

/**
 * Every observer told of each exchange (metrics and traces), in order. With one observer, that observer
 * itself: nothing is added to the hot path of a service that only measures.
 */
export function allObservers(observers: readonly ExchangeObserver[]): ExchangeObserver {
  if (observers.length === 0) return NO_EXCHANGE_OBSERVER
  if (observers.length === 1) return observers[0]
  return {
    begin: (headers) => {
      const each = observers.map((observer) => observer.begin(headers))
      return {
        attestor: (name, kind) => each.forEach((o) => o.attestor(name, kind)),
        attested: (subject, attestor, kind) => each.forEach((o) => o.attested(subject, attestor, kind)),
        phaseStarted: (phase) => each.forEach((o) => o.phaseStarted(phase)),
        phaseEnded: (phase) => each.forEach((o) => o.phaseEnded(phase)),
        finished: (outcome) => each.forEach((o) => o.finished(outcome)),
      }
    },
  }
}
