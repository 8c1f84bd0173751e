import type { Page, PageRequest } from '../lib/page.js'
import { NO_LEDGER_BATCH_OBSERVER, type LedgerBatchObserver } from '../observability/observers.js'
import type { LedgerEntry, LedgerFilter, LedgerStore } from './ledger-store.js'

/** A store that can write several entries in one statement (one transaction, all or none). */
export interface BatchLedgerStore extends LedgerStore {
  recordMany(entries: LedgerEntry[]): Promise<void>
}

interface Pending {
  entry: LedgerEntry
  resolve: () => void
  reject: (error: unknown) => void
}

/**
 * Group commit for the ledger: the entries recorded during one turn of the event loop are written in
 * one INSERT, and each caller is answered only once its batch is committed. The guarantee is
 * unchanged (no token is returned before its row is durable; a failed batch fails every request in
 * it), but Postgres sees one round trip for many exchanges instead of one each. With `maxInFlight`,
 * entries recorded while that many batches are committing wait for one of them to finish.
 */
export class BatchingLedger implements LedgerStore {
  private pending: Pending[] = []
  private scheduled = false
  private inFlight = 0

  constructor(
    private readonly store: BatchLedgerStore,
    private readonly maxBatch = 100,
    /** Told each batch's size and how long its commit took. */
    private readonly observer: LedgerBatchObserver = NO_LEDGER_BATCH_OBSERVER,
    /**
     * Batches committing at once. The hash chains commit a chain's batches one after another
     * (src/ledger/chain/ledger-chains.ts): at their number of lanes, entries recorded while every
     * lane is busy wait and go together as the next batch, rather than queue as many small ones.
     */
    private readonly maxInFlight = Number.POSITIVE_INFINITY,
  ) {}

  record(entry: LedgerEntry): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ entry, resolve, reject })
      if (this.pending.length >= this.maxBatch) this.flush()
      else if (!this.scheduled) {
        this.scheduled = true
        setImmediate(() => this.flush())
      }
    })
  }

  get(jti: string): Promise<LedgerEntry | undefined> {
    return this.store.get(jti)
  }

  /** Reads go straight to the store: what it answers is what has been committed. */
  search(filter: LedgerFilter & PageRequest, now: Date): Promise<Page<LedgerEntry>> {
    return this.store.search(filter, now)
  }

  private flush(): void {
    this.scheduled = false
    while (this.pending.length > 0 && this.inFlight < this.maxInFlight) {
      const batch = this.pending.splice(0, this.maxBatch)
      this.inFlight += 1
      const started = performance.now()
      this.store.recordMany(batch.map((p) => p.entry)).then(
        () => {
          this.observer.committed(batch.length, (performance.now() - started) / 1000, true)
          batch.forEach((p) => p.resolve())
          this.landed()
        },
        (error: unknown) => {
          this.observer.committed(batch.length, (performance.now() - started) / 1000, false)
          batch.forEach((p) => p.reject(error))
          this.landed()
        },
      )
    }
  }

  /** A batch is done: what piled up meanwhile goes at once, as one batch (group commit). */
  private landed(): void {
    this.inFlight -= 1
    if (this.pending.length > 0) this.flush()
  }
}
