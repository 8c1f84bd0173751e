import type { Logger } from 'pino'
import type { LedgerCommitListener } from '../ledger/ledger-commit-listener.js'
import type { LedgerEntry } from '../ledger/ledger-store.js'
import { NO_INVENTORY_FLUSH_OBSERVER, type InventoryFlushObserver } from '../observability/observers.js'
import type { IdentityRollup } from './identity-rollup.js'
import { RollupAccumulator } from './rollup-accumulator.js'

export interface InventoryRecorderOptions {
  /** Writes a coalesced roll-up, all of it or nothing (src/inventory/sql-identity-rollups.ts). */
  rollups: { write(rollup: IdentityRollup): Promise<void> }
  /** inventory.flushIntervalSeconds, in milliseconds. */
  intervalMs: number
  /** inventory.maxPendingRows: held past this, a write starts early; with writes failing, the oldest are dropped. */
  maxPendingRows: number
  logger: Pick<Logger, 'warn' | 'error'>
  observer?: InventoryFlushObserver
}

/**
 * The inventory's roll-ups, written behind the ledger: each committed batch is folded in memory
 * (no I/O on the exchange path), and what was gathered is written every interval in one transaction,
 * one row update per key however many tokens touched it. The ledger rows stay the durable truth; a
 * crash loses at most an interval of roll-up updates, a clean stop (`close`) nothing. A failed write
 * keeps its rows for the next, merged with what came since; memory is bounded by `maxPendingRows`
 * held plus as many in a write in flight.
 */
export class InventoryRecorder implements LedgerCommitListener {
  private pending = new RollupAccumulator()
  private writing: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined
  private readonly observer: InventoryFlushObserver

  constructor(private readonly options: InventoryRecorderOptions) {
    this.observer = options.observer ?? NO_INVENTORY_FLUSH_OBSERVER
  }

  /** Roll-up rows gathered and not yet written (a write in flight excluded). */
  get pendingRows(): number {
    return this.pending.size
  }

  committed(entries: readonly LedgerEntry[]): void {
    try {
      this.pending.fold(entries)
      if (this.pending.size <= this.options.maxPendingRows) return
      if (this.writing === undefined) this.kick()
      // A write already in flight holds its own rows: what comes meanwhile is bounded on its own.
      else this.drop('while a write of the roll-ups was in flight')
    } catch (error) {
      // A defect here must not fail a token whose ledger row is committed.
      this.options.logger.error({ err: error }, 'the roll-ups of a ledger batch could not be gathered: the inventory misses them')
    }
  }

  /** Writes every interval from now on; the timer never keeps the process alive. */
  start(): void {
    if (this.timer) return
    this.timer = setInterval(() => this.kick(), this.options.intervalMs)
    this.timer.unref()
  }

  /**
   * Writes everything gathered until now (after a write in flight); rejects as the write failed, the
   * rows kept for the next. What tests and `close` call.
   */
  async flush(): Promise<void> {
    while (this.writing !== undefined) await this.writing.catch(() => {})
    if (this.pending.size === 0) return
    const write = this.write(this.pending.take())
    this.writing = write
    try {
      await write
    } finally {
      this.writing = undefined
    }
  }

  /** Stops the timer and writes what is left: a clean stop loses nothing the ledger committed before it. */
  async close(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.flush().catch((error: unknown) =>
      this.options.logger.error(
        { err: error, rows: this.pending.size },
        'the inventory roll-ups could not be written at shutdown: they are lost',
      ),
    )
  }

  private kick(): void {
    if (this.writing !== undefined) return
    this.flush().catch((error: unknown) =>
      this.options.logger.warn(
        { err: error, rows: this.pending.size },
        'the inventory roll-ups could not be written: kept for the next interval',
      ),
    )
  }

  private async write(taken: RollupAccumulator): Promise<void> {
    const started = performance.now()
    try {
      await this.options.rollups.write(taken.rollup())
      this.observer.flushed(taken.size, (performance.now() - started) / 1000, true)
    } catch (error) {
      this.observer.flushed(taken.size, (performance.now() - started) / 1000, false)
      this.pending.restoreOlder(taken)
      this.drop('as writing the roll-ups failed')
      throw error
    }
  }

  private drop(why: string): void {
    const dropped = this.pending.dropOldest(this.options.maxPendingRows)
    if (dropped === 0) return
    this.observer.dropped(dropped)
    this.options.logger.warn(
      { dropped, maxPendingRows: this.options.maxPendingRows },
      `inventory roll-up rows dropped unwritten ${why} with inventory.maxPendingRows held: the inventory misses their updates (the ledger keeps every token)`,
    )
  }
}
