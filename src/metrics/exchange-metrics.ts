import { Counter, Histogram, type Registry } from 'prom-client'
import {
  EXCHANGE_PHASES,
  type ExchangeObservation,
  type ExchangeObserver,
  type ExchangeOutcome,
  type ExchangeOutcomeKind,
  type ExchangePhase,
} from '../observability/exchange-observer.js'

/** From half a millisecond (a cached check) to 5 s (an issuer's JWKS endpoint timing out). */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

const OUTCOMES: readonly ExchangeOutcomeKind[] = ['issued', 'refused', 'unavailable', 'error']

interface Observe {
  observe(seconds: number): void
}

/**
 * The token exchange in numbers: how each request was answered (by outcome, OAuth error, reason and
 * attestor: all bounded, the attestor by the configuration), how long it took, and each phase. The
 * subject is never a label: it would make one series per workload.
 */
export class ExchangeMetrics implements ExchangeObserver {
  private readonly answered: Counter<'outcome' | 'error' | 'reason' | 'attestor_kind' | 'attestor'>
  /** Bound once, so the hot path hashes no labels for these. */
  readonly durations: Record<ExchangeOutcomeKind, Observe>
  readonly phases: Record<ExchangePhase, Observe>

  constructor(registry: Registry) {
    this.answered = new Counter({
      name: 'sts_token_exchanges_total',
      help: 'Token requests answered, by outcome (issued, refused, unavailable, error), OAuth error, reason and attestor ("none" when issued, "unknown" before an attestor is chosen).',
      labelNames: ['outcome', 'error', 'reason', 'attestor_kind', 'attestor'],
      registers: [registry],
    })
    const duration = new Histogram({
      name: 'sts_token_exchange_duration_seconds',
      help: 'Time from a token request arriving to its answer, by outcome.',
      labelNames: ['outcome'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    })
    const phase = new Histogram({
      name: 'sts_token_exchange_phase_duration_seconds',
      help: 'Time spent in each phase of a token exchange (attest, grants, revocation_check, registration, ledger_commit, sign), the failing one included.',
      labelNames: ['phase'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    })
    this.durations = bound(OUTCOMES, (outcome) => duration.labels(outcome))
    this.phases = bound(EXCHANGE_PHASES, (name) => phase.labels(name))
  }

  begin(): ExchangeObservation {
    return new MeasuredExchange(this)
  }

  count(outcome: ExchangeOutcome, attestorKind: string, attestor: string): void {
    this.answered.labels(outcome.outcome, outcome.error, outcome.reason, attestorKind, attestor).inc()
  }
}

function bound<K extends string>(keys: readonly K[], child: (key: K) => Observe): Record<K, Observe> {
  const children = {} as Record<K, Observe>
  for (const key of keys) children[key] = child(key)
  return children
}

/** One exchange's timers: a start time for the whole and one for the phase open (phases never overlap). */
class MeasuredExchange implements ExchangeObservation {
  private readonly startedAt = performance.now()
  private open: ExchangePhase | undefined
  private openedAt = 0
  private attestorName = 'unknown'
  private attestorKind = 'unknown'

  constructor(private readonly metrics: ExchangeMetrics) {}

  attestor(name: string, kind: string): void {
    this.attestorName = name
    this.attestorKind = kind
  }

  // The subject is deliberately dropped: it is never a label.
  attested(_subject: string, attestor: string, kind: string): void {
    this.attestor(attestor, kind)
  }

  phaseStarted(phase: ExchangePhase): void {
    this.open = phase
    this.openedAt = performance.now()
  }

  phaseEnded(phase: ExchangePhase): void {
    this.metrics.phases[phase].observe((performance.now() - this.openedAt) / 1000)
    this.open = undefined
  }

  finished(outcome: ExchangeOutcome): void {
    if (this.open !== undefined) this.phaseEnded(this.open)
    this.metrics.durations[outcome.outcome].observe((performance.now() - this.startedAt) / 1000)
    this.metrics.count(outcome, this.attestorKind, this.attestorName)
  }
}
