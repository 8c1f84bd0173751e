import type { LedgerEntry } from './ledger-store.js'

/**
 * Told of each batch of ledger entries once it is committed (the inventory's roll-ups, src/inventory,
 * gather them and write them behind the ledger). The ledger row is the durable truth, written before
 * the token is returned; what a listener keeps is derived from it and may lag.
 */
export interface LedgerCommitListener {
  /**
   * Called on the exchange path, right after the batch's commit: it must only take note (no I/O to
   * wait for) and never throw, for nothing it does may delay or fail a token.
   */
  committed(entries: readonly LedgerEntry[]): void
}
