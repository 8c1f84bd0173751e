import type { Registry } from 'prom-client'
import {
  EXCHANGE_PHASES,
  type ExchangeObservation,
  type ExchangeObserver,
  type ExchangeOutcome,
  type ExchangeOutcomeKind,
  type ExchangePhase,
} from '../observability/exchange-observer.js'
import { FixedHistogram, KeyedCounter } from './fixed-series.js'

/** From half a millisecond (a cached check) to 5 s (an issuer's JWKS endpoint timing out). */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

const OUTCOMES: readonly ExchangeOutcomeKind[] = ['issued', 'refused', 'unavailable', 'error', 'shed']

/**
 * The token exchange in numbers: how each request was answered (by outcome, OAuth error, reason and
 * attestor: all bounded, the attestor by the configuration), how long it took, and each phase. The
 * subject is never a label: it would make one series per workload. Recorded through fixed series
 * (fixed-series.ts): a few hundred nanoseconds per exchange, where prom-client's labelled calls took
 * microseconds.
 */
export class ExchangeMetrics implements ExchangeObserver {
  private readonly answered: KeyedCounter
  readonly durations: FixedHistogram<ExchangeOutcomeKind>
  readonly phases: FixedHistogram<ExchangePhase>
  /** Each outcome's and each phase's series, looked up once. */
  readonly durationSeries: Record<ExchangeOutcomeKind, number>
  readonly phaseSeries: Record<ExchangePhase, number>

  constructor(registry: Registry) {
    this.answered = new KeyedCounter(registry, {
      name: 'sts_token_exchanges_total',
      help: 'Token requests answered, by outcome (issued, refused, unavailable, error, shed), OAuth error, reason and attestor ("none" when issued, "unknown" before an attestor is chosen).',
      labelNames: ['outcome', 'error', 'reason', 'attestor_kind', 'attestor'],
    })
    this.durations = new FixedHistogram(registry, {
      name: 'sts_token_exchange_duration_seconds',
      help: 'Time from a token request arriving to its answer, by outcome.',
      labelName: 'outcome',
      labelValues: OUTCOMES,
      buckets: LATENCY_BUCKETS,
    })
    this.phases = new FixedHistogram(registry, {
      name: 'sts_token_exchange_phase_duration_seconds',
      help: 'Time spent in each phase of a token exchange (attest, grants, revocation_check, registration, ledger_commit, sign), the failing one included.',
      labelName: 'phase',
      labelValues: EXCHANGE_PHASES,
      buckets: LATENCY_BUCKETS,
    })
    this.durationSeries = indexed(OUTCOMES, (outcome) => this.durations.seriesOf(outcome))
    this.phaseSeries = indexed(EXCHANGE_PHASES, (phase) => this.phases.seriesOf(phase))
  }

  begin(): ExchangeObservation {
    return new MeasuredExchange(this)
  }

  count(outcome: ExchangeOutcome, attestorKind: string, attestor: string): void {
    // Label values never hold this separator: outcomes, OAuth codes and reasons are fixed words, and
    // attestor names and kinds DNS labels.
    const key = `${outcome.outcome}\u0000${outcome.error}\u0000${outcome.reason}\u0000${attestorKind}\u0000${attestor}`
    if (!this.answered.incExisting(key)) this.answered.add(key, [outcome.outcome, outcome.error, outcome.reason, attestorKind, attestor])
  }
}

function indexed<K extends string>(keys: readonly K[], series: (key: K) => number): Record<K, number> {
  const found = {} as Record<K, number>
  for (const key of keys) found[key] = series(key)
  return found
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
    this.metrics.phases.observe(this.metrics.phaseSeries[phase], (performance.now() - this.openedAt) / 1000)
    this.open = undefined
  }

  finished(outcome: ExchangeOutcome): void {
    if (this.open !== undefined) this.phaseEnded(this.open)
    this.metrics.durations.observe(this.metrics.durationSeries[outcome.outcome], (performance.now() - this.startedAt) / 1000)
    this.metrics.count(outcome, this.attestorKind, this.attestorName)
  }
}
