import type { Logger } from 'pino'
import type { KeyService } from './key-service.js'

/**
 * The key upkeep on a timer in every instance, like the ledger's: the steps due (scheduled rotation,
 * promotion, removal) are taken by whichever instance runs first, under the keys' lock; the others find
 * nothing left to do. Then the keys sealed under a previous key-encryption key are re-sealed under the
 * current one, the same way. A failed run is logged, and the next one tries again.
 */
export class KeyMaintenance {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<unknown> | undefined

  constructor(
    private readonly keys: Pick<KeyService, 'maintain' | 'reseal'>,
    private readonly logger: Pick<Logger, 'error'>,
    private readonly intervalMs: number,
  ) {}

  /** Starts the timer, running once at once; the timer never keeps the process alive. */
  start(): void {
    if (this.timer) return
    this.timer = setInterval(() => this.kick(), this.intervalMs)
    this.timer.unref()
    this.kick()
  }

  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.running
  }

  private kick(): void {
    if (this.running) return
    const failed = (what: string) => (error: unknown) =>
      this.logger.error({ err: error }, `${what} failed; trying again at the next interval`)
    // The re-seal runs even when the lifecycle steps failed: one does not wait on the other.
    this.running = this.keys
      .maintain()
      .catch(failed('the signing key upkeep'))
      .then(() => this.keys.reseal())
      .catch(failed('re-sealing the signing keys under the current key-encryption key'))
      .finally(() => (this.running = undefined))
  }
}
