import type { Logger } from 'pino'
import type { Clock } from '../lib/clock.js'
import type { LegacyLedgerMove } from './legacy-ledger-move.js'
import type { LedgerPartitions } from './ledger-partitions.js'
import type { LedgerRetention } from './ledger-retention.js'

/** How far ahead partitions exist: two days, so a maintenance that stops working has two days to be noticed. */
export const PARTITIONS_AHEAD_MS = 2 * 86_400_000

export interface LedgerMaintenanceOptions {
  partitions: LedgerPartitions
  retention: Pick<LedgerRetention, 'apply'>
  legacyMove: Pick<LegacyLedgerMove, 'run'>
  /** Roll-ups kept beside the ledger with a retention of their own (the inventory's daily counts). */
  rollupRetention?: { retentionDays: number; prune(before: Date): Promise<unknown> }
  /** Clears the per-row hashes of the chain's batches whose rows retention dropped (src/ledger/chain/batch-compaction.ts). */
  batchCompaction?: { compact(shouldStop: () => boolean): Promise<unknown> }
  clock: Clock
  logger: Pick<Logger, 'info' | 'warn' | 'error'>
  /** How often each instance runs it. */
  intervalMs: number
}

/**
 * The ledger's upkeep, on a timer in every instance like the registration tidy: partitions created
 * ahead of time, retention applied (the ledger's and its roll-ups'), and the upgrade's move of the previous release's rows resumed
 * until it is done. Every step is safe to run on several instances at once (advisory locks, and DDL
 * that looks at what exists first); a failed run is logged and the next one tries again.
 */
export class LedgerMaintenance {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<unknown> | undefined
  private stopping = false

  constructor(private readonly options: LedgerMaintenanceOptions) {}

  /** The partitions from now until PARTITIONS_AHEAD_MS from now; answers the names created. */
  async createAhead(): Promise<string[]> {
    const now = new Date(this.options.clock.now())
    const created = await this.options.partitions.ensureBetween(now, new Date(now.getTime() + PARTITIONS_AHEAD_MS))
    if (created.length > 0) this.options.logger.info({ created }, 'ledger partitions created ahead of time')
    return created
  }

  /** Starts the timer, running one upkeep at once; the timer never keeps the process alive. */
  start(): void {
    if (this.timer) return
    this.stopping = false
    this.timer = setInterval(() => this.kick(), this.options.intervalMs)
    this.timer.unref()
    this.kick()
  }

  /** Stops the timer and waits for a run in progress, which stops between two batches of the move. */
  async stop(): Promise<void> {
    this.stopping = true
    clearInterval(this.timer)
    this.timer = undefined
    await this.running
  }

  /**
   * One upkeep, now. Each part is tried even when another fails (logged; the next run tries again):
   * a retention that cannot finish must not keep partitions from being made, nor the move from going on.
   */
  async runOnce(): Promise<void> {
    await this.attempt('ledger partitions could not be created ahead', () => this.createAhead())
    await this.attempt('ledger retention failed', () => this.options.retention.apply(new Date(this.options.clock.now())))
    await this.attempt("the move of the previous release's ledger failed", () =>
      this.options.legacyMove.run(Number.POSITIVE_INFINITY, () => this.stopping),
    )
    const compaction = this.options.batchCompaction
    if (compaction !== undefined) {
      await this.attempt('the hash chain of dropped ledger partitions could not be compacted', () =>
        compaction.compact(() => this.stopping),
      )
    }
    const rollups = this.options.rollupRetention
    if (rollups !== undefined) {
      await this.attempt('the roll-ups past their retention could not be pruned', () =>
        rollups.prune(new Date(this.options.clock.now() - rollups.retentionDays * 86_400_000)),
      )
    }
  }

  private async attempt(failure: string, work: () => Promise<unknown>): Promise<void> {
    try {
      await work()
    } catch (error) {
      this.options.logger.error({ err: error }, `${failure}; trying again at the next interval`)
    }
  }

  private kick(): void {
    if (this.running) return
    this.running = this.runOnce().finally(() => (this.running = undefined))
  }
}
