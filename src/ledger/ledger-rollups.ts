import type { Queryable } from '../db/database.js'
import type { LedgerEntry } from './ledger-store.js'

/**
 * What the ledger's writer keeps beside its rows (the inventory of identities, src/inventory): the
 * roll-ups of a batch are written on the batch's own transaction, so a token is never on the ledger
 * without its roll-up, nor a roll-up without its token.
 */
export interface LedgerRollups {
  /**
   * Runs `insert` (the batch's ledger rows) on a new transaction, then writes the roll-ups of
   * `entries` on it, and commits. A failure of either rolls both back and is thrown as it came.
   */
  commitWith(entries: readonly LedgerEntry[], insert: (tx: Queryable) => Promise<void>): Promise<void>
}
