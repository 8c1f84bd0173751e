/** What `sts ledger verify` and `POST /v1/ledger:verify` answer (README, "Tamper evidence"). */

/** A chain head as it was anchored outside the database: the log line, the metric or the webhook. */
export interface KnownHead {
  chainId: string
  seq: number
  /** Lower-case hex. */
  batchHash: string
}

/** One sign of a change made outside the service. Every kind names what to look at. */
export type LedgerFinding =
  /** The row is there, and is not what its batch hashed. */
  | { kind: 'row-changed'; chainId: string; seq: number; jti: string }
  /** The batch holds the row, the ledger does not, and no retention dropped its period. */
  | { kind: 'row-deleted'; chainId: string; seq: number; jti: string }
  /** No batch holds the row, and it was issued after the upgrade's rolling restart. */
  | { kind: 'row-inserted'; jti: string; issuedAt: string }
  /** The batch's columns are not what its hash (or its rows' hashes) says. */
  | { kind: 'batch-changed'; chainId: string; seq: number }
  /** The batch's previous hash is not the hash of the batch before it in its chain. */
  | { kind: 'batch-unlinked'; chainId: string; seq: number }
  /** Batches missing from the middle or the start of a chain (retention never removes a batch). */
  | { kind: 'batches-deleted'; chainId: string; fromSeq: number; toSeq: number }
  /** An anchored head is newer than anything the database holds of its chain (null: nothing at all). */
  | { kind: 'chain-truncated'; chainId: string; heldSeq: number | null; anchoredSeq: number }
  /** The database holds the anchored batch with another hash: the chain was rewritten. */
  | { kind: 'head-mismatch'; chainId: string; seq: number }

/** A partition ledger retention dropped, as it recorded at the time. */
export interface RetentionDrop {
  partition: string
  from: string
  to: string
  droppedAt: string
  /** The batches with a row in its period, and the rows of those wholly inside it, when it was dropped. */
  batches: number
  batchRows: number
}

export interface LedgerVerification {
  /** True when there is no finding: nothing was changed, added or removed outside the service. */
  intact: boolean
  /** The batches and rows looked at: those issued in this range (null: unbounded). */
  range: { since: string | null; until: string | null }
  checked: { chains: number; batches: number; rows: number }
  /** Oldest chain first, then in seq order; rows in issue order. At most MAX_LISTED_FINDINGS. */
  findings: LedgerFinding[]
  /** Findings there were in all (more than listed when the list was cut). */
  findingCount: number
  /** What ledger retention removed: not tampering. */
  retention: { drops: RetentionDrop[]; batches: number; rows: number }
  /**
   * Rows no batch holds that replicas of the previous release wrote during the upgrade (issued
   * before `chainedUntil`: the chain's migration plus a day of rolling restart): not tampering.
   * Rows issued before the migration are not looked at (they were never chained).
   */
  unchained: { rows: number; chainedSince: string | null; chainedUntil: string | null }
}

export const MAX_LISTED_FINDINGS = 1000

/** `chain:seq:hash`, as the anchor's log line and webhook give it; undefined if it is not one. */
export function parseKnownHead(text: string): KnownHead | undefined {
  const match = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}):([1-9][0-9]{0,15}):([0-9a-f]{64})$/.exec(
    text.trim().toLowerCase(),
  )
  if (!match) return undefined
  return { chainId: match[1] ?? '', seq: Number(match[2]), batchHash: match[3] ?? '' }
}
