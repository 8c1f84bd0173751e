import { AttestationError, type Attestation, type AttestationContext, type SubjectToken } from '../attestations/attestation.js'
import type { StsError } from '../errors.js'
import { backoffDelay, type BackoffPolicy } from './backoff.js'
import type { DpopProofs } from './dpop-proofs.js'
import type { Clock, TimerHandle, Timers } from './time.js'
import { exchangeToken, type ExchangeOutcome, type TokenRequest } from './token-request.js'

/**
 * The token of one (audience, scope): held, refreshed ahead of its expiry, fetched by at most one
 * flight at a time (callers who arrive meanwhile wait on that flight), retried with backoff while the
 * STS says "not now", and left alone for a cool-down once it says "no".
 */

export interface HeldToken {
  accessToken: string
  tokenType: string
  scope?: string
  /** Milliseconds since the epoch: the request's start plus `expires_in`, so never later than the STS's. */
  expiresAt: number
  /** Handed out until then: `minValidityMs` (at most a tenth of its life) before it expires. */
  usableUntil: number
}

export type TokenSourceEvent =
  | { type: 'issued'; audience?: string; scope?: string; expiresAt: Date; attempts: number; background: boolean }
  | { type: 'retrying'; audience?: string; scope?: string; error: StsError | AttestationError; attempt: number; delayMs: number }
  | { type: 'refused'; audience?: string; scope?: string; error: StsError | AttestationError; retryAfter: Date }
  | { type: 'gave-up'; audience?: string; scope?: string; error: StsError | AttestationError; background: boolean }

export interface SlotSettings {
  endpoint: string
  attestation: Attestation
  /** With the `actor` option: the acting workload's attestation, sent as `actor_token`. */
  actor?: Attestation
  fetch: typeof globalThis.fetch
  clock: Clock
  timers: Timers
  random: () => number
  refreshAt: number
  refreshJitter: number
  minValidityMs: number
  backoff: BackoffPolicy
  waitMs: number
  refusalCooldownMs: number
  requestTimeoutMs: number
  /** With the `dpop` option: every token request carries a proof, and the tokens are bound to its key. */
  dpop?: DpopProofs
  emit(event: TokenSourceEvent): void
}

type Failure = { ok: false; error: StsError | AttestationError; retryable: boolean; retryAfterMs?: number }

interface FlightState {
  /** No retry is started that would end after it. */
  deadline: number
  /** A caller waits on it: its timers must keep the process alive. */
  waited: boolean
  controller?: AbortController
  sleep?: { timer: TimerHandle; reject: (error: Error) => void }
}

interface Flight extends FlightState {
  promise: Promise<HeldToken>
}

/** Never refresh sooner than this after a token arrived, however short its life: no tight loop. */
const MIN_REFRESH_DELAY_MS = 1_000

export class TokenSlot {
  private held?: HeldToken
  private flight?: Flight
  private refreshTimer?: TimerHandle
  private refusal?: { error: StsError | AttestationError; until: number }
  private closed = false

  constructor(
    private readonly request: TokenRequest,
    private readonly settings: SlotSettings,
  ) {}

  /** A token with at least its margin of life left: the one held, or the next one. */
  async get(): Promise<HeldToken> {
    const now = this.settings.clock.now()
    if (this.held !== undefined && now < this.held.usableUntil) return this.held
    if (this.flight !== undefined) return this.join(this.flight, now)
    if (this.refusal !== undefined && now < this.refusal.until) throw this.refusal.error
    return this.start(false).promise
  }

  close(): void {
    this.closed = true
    this.refreshTimer?.cancel()
    this.refreshTimer = undefined
    const flight = this.flight
    if (flight === undefined) return
    flight.controller?.abort(new Error('the token source is closed'))
    flight.sleep?.timer.cancel()
    flight.sleep?.reject(new Error('the token source is closed'))
  }

  private join(flight: Flight, now: number): Promise<HeldToken> {
    flight.deadline = Math.max(flight.deadline, now + this.settings.waitMs)
    flight.waited = true
    flight.sleep?.timer.ref()
    return flight.promise
  }

  private start(background: boolean): Flight {
    const now = this.settings.clock.now()
    const state: FlightState = {
      // In the background, retries are worth it while the held token is still handed out.
      deadline: background && this.held !== undefined ? this.held.usableUntil : now + this.settings.waitMs,
      waited: !background,
    }
    const flight: Flight = Object.assign(state, {
      promise: this.fly(state, background).finally(() => {
        if (this.flight === flight) this.flight = undefined
      }),
    })
    // A background flight's failure is reported through the events; callers get it from their await.
    flight.promise.catch(() => {})
    this.flight = flight
    return flight
  }

  private async fly(flight: FlightState, background: boolean): Promise<HeldToken> {
    const { settings } = this
    for (let attempt = 0; ; attempt++) {
      const startedAt = settings.clock.now()
      const outcome = await this.attempt(flight)
      if (this.closed) throw new Error('the token source is closed')
      if (outcome.ok) {
        const lifetimeMs = outcome.token.expiresIn * 1000
        const expiresAt = startedAt + lifetimeMs
        const held: HeldToken = {
          accessToken: outcome.token.accessToken,
          tokenType: outcome.token.tokenType,
          ...(outcome.token.scope === undefined ? {} : { scope: outcome.token.scope }),
          expiresAt,
          usableUntil: expiresAt - Math.min(settings.minValidityMs, lifetimeMs / 10),
        }
        this.held = held
        this.refusal = undefined
        this.scheduleRefresh(startedAt, lifetimeMs)
        this.emit({ type: 'issued', expiresAt: new Date(expiresAt), attempts: attempt + 1, background })
        return held
      }
      if (!outcome.retryable) {
        const until = settings.clock.now() + settings.refusalCooldownMs
        this.refusal = { error: outcome.error, until }
        this.emit({ type: 'refused', error: outcome.error, retryAfter: new Date(until) })
        throw outcome.error
      }
      const delayMs = backoffDelay(settings.backoff, attempt, settings.random, outcome.retryAfterMs)
      if (settings.clock.now() + delayMs > flight.deadline) {
        this.emit({ type: 'gave-up', error: outcome.error, background: !flight.waited })
        throw outcome.error
      }
      this.emit({ type: 'retrying', error: outcome.error, attempt: attempt + 1, delayMs })
      await this.sleep(flight, delayMs)
    }
  }

  private async attempt(flight: FlightState): Promise<ExchangeOutcome | Failure> {
    const { settings } = this
    const controller = new AbortController()
    flight.controller = controller
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(settings.requestTimeoutMs)])
    const context = { signal, now: () => settings.clock.now() }
    let subject: SubjectToken
    let actor: SubjectToken | undefined
    try {
      subject = await presented(settings.attestation, context, 'the')
      if (settings.actor !== undefined) actor = await presented(settings.actor, context, "the actor's")
    } catch (error) {
      const failure = error as AttestationError
      return { ok: false, error: failure, retryable: failure.retryable } satisfies Failure
    }
    return exchangeToken({
      fetch: settings.fetch,
      endpoint: settings.endpoint,
      subject,
      ...(actor === undefined ? {} : { actor }),
      request: this.request,
      signal,
      now: settings.clock.now(),
      dpop: settings.dpop,
    })
  }

  private sleep(flight: FlightState, delayMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = this.settings.timers.set(() => {
        flight.sleep = undefined
        resolve()
      }, delayMs)
      if (flight.waited) timer.ref()
      flight.sleep = { timer, reject }
    })
  }

  private scheduleRefresh(issuedAt: number, lifetimeMs: number): void {
    const { settings } = this
    // Each token at its own point around refreshAt, so a fleet started together drifts apart.
    const fraction = settings.refreshAt + (2 * settings.random() - 1) * settings.refreshJitter
    const delayMs = Math.max(MIN_REFRESH_DELAY_MS, issuedAt + lifetimeMs * fraction - settings.clock.now())
    this.refreshTimer?.cancel()
    this.refreshTimer = settings.timers.set(() => {
      this.refreshTimer = undefined
      if (!this.closed && this.flight === undefined) this.start(true)
    }, delayMs)
  }

  private emit(event: DistributiveOmit<TokenSourceEvent, 'audience' | 'scope'>): void {
    try {
      this.settings.emit({ ...event, ...this.request })
    } catch {
      // A listener's failure (a logger that throws) must not stop the refreshing.
    }
  }
}

/** An attestation's token; whatever it throws becomes an AttestationError (retried unless it says otherwise). */
async function presented(attestation: Attestation, context: AttestationContext, whose: string): Promise<SubjectToken> {
  try {
    return await attestation.subjectToken(context)
  } catch (error) {
    if (error instanceof AttestationError) throw error
    throw new AttestationError(
      `${whose} ${attestation.kind} attestation failed: ${error instanceof Error ? error.message : String(error)}`,
      true,
      { cause: error },
    )
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
