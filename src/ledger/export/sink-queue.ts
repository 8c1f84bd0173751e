import type { Logger } from 'pino'
import type { LedgerChainObserver } from '../../observability/observers.js'
import type { ExportSink } from './export-sinks.js'

/** Lines written to a sink at once. */
const CHUNK = 500
/** At most one warning about drops per this long, with the count since the last. */
const DROP_LOG_EVERY_MS = 10_000

/**
 * The events waiting for one sink, bounded: past `capacity`, new events are dropped, counted and
 * logged, never held up or thrown to the one recording them (the exchange). A failed write keeps its
 * lines at the head of the queue and is tried again after `retryMs` (at least once: a write that
 * failed midway may be sent again, which the events' ids let a SIEM dedupe).
 */
export class SinkQueue {
  private lines: string[] = []
  private pumping: Promise<void> | undefined
  private closed = false
  private dropped = 0
  private lastDropLog = Number.NEGATIVE_INFINITY

  constructor(
    private readonly sink: ExportSink,
    private readonly capacity: number,
    private readonly observer: LedgerChainObserver,
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly retryMs = 1000,
  ) {}

  push(lines: readonly string[]): void {
    const room = Math.max(0, this.capacity - this.lines.length)
    const accepted = lines.length <= room ? lines : lines.slice(0, room)
    if (accepted.length < lines.length) this.drop(lines.length - accepted.length)
    if (accepted.length === 0) return
    this.lines.push(...accepted)
    this.pumping ??= this.pump().finally(() => (this.pumping = undefined))
  }

  /** Waits up to `timeoutMs` for what is queued to be written, then stops trying. */
  async close(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.pumping, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))])
    clearTimeout(timer)
    this.closed = true
  }

  /** Lines waiting. */
  get size(): number {
    return this.lines.length
  }

  private async pump(): Promise<void> {
    while (this.lines.length > 0 && !this.closed) {
      const chunk = this.lines.slice(0, CHUNK)
      try {
        await this.sink.write(chunk)
        this.lines.splice(0, chunk.length)
        this.observer.exported(this.sink.name, chunk.length)
      } catch (error) {
        this.observer.exportFailed(this.sink.name)
        this.logger.warn(
          { sink: this.sink.name, queued: this.lines.length, err: { message: error instanceof Error ? error.message : String(error) } },
          'the ledger export could not write to its sink; trying again',
        )
        await new Promise((resolve) => setTimeout(resolve, this.retryMs).unref())
      }
    }
  }

  private drop(count: number): void {
    this.observer.exportDropped(this.sink.name, count)
    this.dropped += count
    const now = performance.now()
    if (now - this.lastDropLog < DROP_LOG_EVERY_MS) return
    this.logger.warn(
      { sink: this.sink.name, dropped: this.dropped, capacity: this.capacity },
      'the ledger export dropped events: its sink is too slow or down and its queue is full (ledger.export.queueSize)',
    )
    this.lastDropLog = now
    this.dropped = 0
  }
}
