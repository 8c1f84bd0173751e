import type { RevocationTarget } from './revocation.js'

/** What the ledger tells a revocation: how many tokens it cuts off, and when a revoked token expires anyway. */
export interface LiveTokenCounter {
  /** The ledger entries `target` covers that have not expired at `now`. */
  count(target: RevocationTarget, now: Date): Promise<number>
  /** When the token with this jti expires, if the ledger knows it. */
  tokenExpiry(jti: string): Promise<Date | undefined>
}
