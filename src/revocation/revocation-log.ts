import type { Queryable } from '../db/database.js'
import { GoneError } from '../errors.js'
import type { Page, PageRequest } from '../lib/page.js'
import type { Revocation, RevocationKind } from './revocation.js'

export interface RevocationFilter {
  kind?: RevocationKind
  value?: string
  /** true: only those in force at `now`; false: only lifted or expired ones. */
  active?: boolean
  /**
   * Changes after this position, for a poller or a stream resuming (a page's `cursor`, when given, is
   * used instead). Refused with GoneError when retention pruned changes after it.
   */
  since?: string
}

/** Changes in the order they happened; the cursor of a page is a position in that order. */
export interface RevocationPage extends Page<Revocation> {
  /**
   * Where a poller (or a stream) resumes: the position of the last change on this page; on the last
   * page, never below what retention pruned (everything pruned is accounted for by then), so a client
   * that read a full listing polls on from it without being refused.
   */
  position: string
}

/**
 * The durable record of every revocation. Writes happen on a transaction the caller holds (`tx`), so
 * the audit entry and the distribution to Redis can share it.
 */
export interface RevocationLog {
  /** Runs `work` on one transaction; a failure of the store itself becomes a ServiceUnavailableError, our own errors pass. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>
  /** The revocation standing for this target, if any (lifted ones do not stand; expired ones still hold the place). */
  standing(tx: Queryable, kind: RevocationKind, value: string): Promise<Revocation | undefined>
  insert(tx: Queryable, draft: Omit<Revocation, 'id' | 'seq' | 'liftedAt' | 'liftedBy' | 'liftReason'>): Promise<Revocation>
  /** Lifts a revocation still standing; undefined if there is none with that id or it was lifted already. */
  lift(tx: Queryable, id: string, at: Date, by: string, reason: string): Promise<Revocation | undefined>
  /** On `tx` when inside a transaction: PGlite has one connection, and the transaction holds it. */
  get(id: string, tx?: Queryable): Promise<Revocation | undefined>
  /** The position of the latest change, 0 before any (never below what retention pruned). */
  lastSeq(): Promise<bigint>
  /** The highest position retention pruned, 0 before any: a cursor below it is gone. */
  prunedThrough(): Promise<bigint>
  /**
   * Removes up to `limit` revocations lifted, or expired, before `before`, oldest position first, and
   * moves the watermark past them on the same statement. Answers how many it removed.
   */
  prune(before: Date, limit: number): Promise<number>
  /** Everything in force at `now`: what Redis is rebuilt from. */
  listInForce(now: Date): Promise<Revocation[]>
  /**
   * In the order of their last change, so a poller can resume after the last position it saw. Throws
   * InvalidInputError for a cursor that is not a position, and GoneError for a `since` before what
   * retention pruned (changes after it may be missing): the caller starts again from a full listing.
   */
  list(filter: RevocationFilter & PageRequest, now: Date): Promise<RevocationPage>
}

/** What a poller or a stream whose position retention has passed is told. */
export function prunedCursor(cursor: bigint, prunedThrough: bigint): GoneError {
  return new GoneError(
    `changes after position ${cursor} are no longer all kept: revocations up to position ${prunedThrough} were pruned by retention ` +
      '(revocations.retentionDays); resynchronise from a full listing (GET /v1/revocations without a cursor), then poll or stream from its cursor',
    'revocation_cursor_pruned',
  )
}
