import type { Clock } from '../../lib/clock.js'
import { uuidV7 } from '../../lib/uuid-v7.js'
import type { LedgerEntry } from '../ledger-store.js'
import { batchHash, canonicalRowOf, canonicalTime, rowHash, rowsHash, type BatchHeader } from './batch-hash.js'

/** A batch ready to be written: its header, its hash, and its rows' jtis and hashes in jti order. */
export interface SealedBatch extends BatchHeader {
  batchHash: Buffer
  jtis: string[]
  rowHashes: Buffer
}

/** The last committed batch of a chain: what is anchored outside the database. */
export interface ChainHead {
  chainId: string
  seq: number
  /** Lower-case hex. */
  batchHash: string
  /** The latest issued_at of the chain's rows so far. */
  issuedTo: Date
}

/** Told of every committed batch (the export to a SIEM); must not throw, and must not wait. */
export interface ChainListener {
  committed(batch: SealedBatch, entries: readonly LedgerEntry[]): void
}

interface Lane {
  chainId: string
  head: { seq: number; hash: Buffer; issuedTo: Date } | null
}

/** How many chains one writer keeps, so several batches can be in flight at once (see LedgerChains). */
export const DEFAULT_CHAIN_LANES = 4

/** Hashes `entries` as the batch after `prev` on chain `chainId`. */
export function sealBatch(
  chainId: string,
  prev: { seq: number; hash: Buffer } | null,
  entries: readonly LedgerEntry[],
  committedAt: Date,
): SealedBatch {
  const rows = entries.map(canonicalRowOf).sort((a, b) => (a.jti < b.jti ? -1 : a.jti > b.jti ? 1 : 0))
  const rowHashes = Buffer.concat(rows.map(rowHash))
  const issued = entries.map((entry) => entry.issuedAt.getTime())
  const header: BatchHeader = {
    chainId,
    seq: prev === null ? 1 : prev.seq + 1,
    prevHash: prev === null ? null : prev.hash,
    issuedFrom: canonicalTime(new Date(Math.min(...issued))),
    issuedTo: canonicalTime(new Date(Math.max(...issued))),
    committedAt: canonicalTime(committedAt),
    rowCount: rows.length,
    rowsHash: rowsHash(rowHashes),
  }
  return { ...header, batchHash: batchHash(header), jtis: rows.map((row) => row.jti), rowHashes }
}

/**
 * The hash chains of one writer. A chain links each batch to the one before it, so its batches must
 * commit one after another; a writer keeps a few chains (lanes) so that as many batches can be in
 * flight at once, and instances never wait on each other (each has chains of its own). A chain is
 * made at start (a UUIDv7, so its id says when), and a chain whose commit failed ends there: the
 * failed batch may or may not have been committed (a connection lost at COMMIT), so the next batch
 * starts a new chain rather than link to a hash the database may not hold. The ended chain's head is
 * kept for the anchor.
 */
export class LedgerChains {
  private readonly free: Lane[]
  private readonly waiting: ((lane: Lane) => void)[] = []
  private readonly busy = new Set<Lane>()
  private ended: ChainHead[] = []

  constructor(
    private readonly clock: Clock,
    readonly lanes = DEFAULT_CHAIN_LANES,
    private readonly listener?: ChainListener,
    private readonly newChainId: () => string = () => uuidV7(clock.now()),
  ) {
    if (!Number.isInteger(lanes) || lanes < 1) throw new TypeError(`a writer keeps at least one chain, not ${lanes}`)
    this.free = Array.from({ length: lanes }, () => ({ chainId: this.newChainId(), head: null }))
  }

  /**
   * Seals `entries` as the next batch of a free chain (waiting for one), has `write` store it, and
   * moves the chain on once it has. A failure of `write` ends the chain and is thrown as it came.
   */
  async commit(entries: readonly LedgerEntry[], write: (batch: SealedBatch) => Promise<void>): Promise<SealedBatch> {
    const lane = await this.acquire()
    try {
      const batch = sealBatch(lane.chainId, lane.head, entries, new Date(this.clock.now()))
      try {
        await write(batch)
      } catch (error) {
        if (lane.head !== null) this.ended.push(headOf(lane.chainId, lane.head))
        lane.chainId = this.newChainId()
        lane.head = null
        throw error
      }
      lane.head = { seq: batch.seq, hash: batch.batchHash, issuedTo: new Date(Math.max(...entries.map((e) => e.issuedAt.getTime()))) }
      try {
        this.listener?.committed(batch, entries)
      } catch {
        // The batch is committed: nothing the export does may turn its tokens into refusals.
      }
      return batch
    } finally {
      this.release(lane)
    }
  }

  /**
   * The head of every chain that has committed a batch: this writer's chains now, and those that
   * ended since the last call (each handed out once).
   */
  takeHeads(): ChainHead[] {
    const current = [...this.free, ...this.busy].flatMap((lane) => (lane.head === null ? [] : [headOf(lane.chainId, lane.head)]))
    const ended = this.ended
    this.ended = []
    return [...ended, ...current].sort((a, b) => (a.chainId < b.chainId ? -1 : a.chainId > b.chainId ? 1 : 0))
  }

  private acquire(): Promise<Lane> {
    const lane = this.free.pop()
    if (lane !== undefined) {
      this.busy.add(lane)
      return Promise.resolve(lane)
    }
    return new Promise((resolve) => this.waiting.push(resolve))
  }

  private release(lane: Lane): void {
    const next = this.waiting.shift()
    if (next !== undefined) return next(lane)
    this.busy.delete(lane)
    this.free.push(lane)
  }
}

function headOf(chainId: string, head: { seq: number; hash: Buffer; issuedTo: Date }): ChainHead {
  return { chainId, seq: head.seq, batchHash: head.hash.toString('hex'), issuedTo: head.issuedTo }
}
