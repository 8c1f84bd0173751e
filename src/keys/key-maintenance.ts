import type { Logger } from 'pino'
import type { KeyService } from './key-service.js'

/**
 * The key upkeep on a timer in every instance, like the ledger's: the steps due (scheduled rotation,
 * promotion, removal) are taken by whichever instance runs first, under the keys' lock; the others find
 * nothing left to do. A failed run is logged, and the next one tries again.
 */
export class KeyMaintenance {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<unknown> | undefined

  constructor(
    private readonly keys: Pick<KeyService, 'maintain'>,
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
    this.running = this.keys
      .maintain()
      .catch((error: unknown) => this.logger.error({ err: error }, 'the signing key upkeep failed; trying again at the next interval'))
      .finally(() => (this.running = undefined))
  }
}
