import type { Logger } from 'pino'
import { SERVICE_ACTOR } from '../admin-tokens/admin-token.js'
import type { Clock } from '../lib/clock.js'
import type { RegistrationStore } from './registration-store.js'

export interface RegistrationTidyOptions {
  registrations: RegistrationStore
  clock: Clock
  logger: Logger
  /** Registrations last seen longer ago than this are forgotten. */
  tidyAfterDays: number
  /** How often each instance tidies. */
  intervalMs: number
  /** Registrations forgotten per statement (and per transaction). */
  batchSize: number
  /** Statements per run at most, so one run never holds the database for long; the next run goes on. */
  maxBatchesPerRun?: number
}

const DAY_MS = 86_400_000

/**
 * Forgets registrations unused for `tidyAfterDays`, like Vault's tidy of its AWS identity access list:
 * an instance gone for good (terminated) leaves its row behind forever otherwise. Each instance of the
 * service runs it on its own timer; rows being tidied elsewhere are skipped (SKIP LOCKED), so running
 * it everywhere costs little and needs no leader. An instance that comes back after being tidied
 * registers afresh at its next attestation.
 */
export class RegistrationTidy {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<unknown> | undefined

  constructor(private readonly options: RegistrationTidyOptions) {}

  /** Starts the timer; it never keeps the process alive. */
  start(): void {
    if (this.timer) return
    this.timer = setInterval(() => {
      if (this.running) return
      this.running = this.runOnce()
        .catch((error: unknown) => this.options.logger.error({ err: error }, 'registration tidy failed; trying again at the next interval'))
        .finally(() => (this.running = undefined))
    }, this.options.intervalMs)
    this.timer.unref()
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.running
  }

  /** One tidy, now: forgets stale registrations in batches; resolves to how many it forgot. */
  async runOnce(): Promise<number> {
    const { registrations, clock, tidyAfterDays, batchSize, logger } = this.options
    const now = new Date(clock.now())
    const cutoff = new Date(now.getTime() - tidyAfterDays * DAY_MS)
    const reason = `unused for more than ${tidyAfterDays} days (registrations.tidyAfterDays)`
    let total = 0
    for (let batch = 0; batch < (this.options.maxBatchesPerRun ?? 10); batch++) {
      const { forgotten } = await registrations.tidy(cutoff, batchSize, now, { name: SERVICE_ACTOR, requestId: null }, reason)
      total += forgotten.length
      if (forgotten.length < batchSize) break
    }
    if (total > 0)
      logger.info({ forgotten: total, lastSeenBefore: cutoff.toISOString() }, 'registration tidy forgot unused instance registrations')
    return total
  }
}
