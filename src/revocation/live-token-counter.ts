import type { RevocationTarget } from './revocation.js'

/** What the ledger tells a revocation: how many tokens it cuts off, and when a revoked token expires anyway. */
export interface LiveTokenCounter {
  /**
   * The ledger entries `target` covers that have not expired at `now`; undefined when there are more
   * than can be counted within the counter's time budget (the answer of a revocation waits for it).
   */
  count(target: RevocationTarget, now: Date): Promise<number | undefined>
  /** When the token with this jti expires, if the ledger knows it. */
  tokenExpiry(jti: string): Promise<Date | undefined>
}
