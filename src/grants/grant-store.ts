import type { Actor } from '../audit/audit-log.js'
import type { Page, PageRequest } from '../lib/page.js'
import type { Grant } from './grant.js'

/** A grant as the store writes it: everything but what the store itself assigns. */
export type GrantDraft = Omit<Grant, 'id' | 'version' | 'createdAt' | 'updatedAt'>

/**
 * A grant as it stands after a change, at `seq`, its position in the order changes committed; without
 * `grant`, the row was deleted (by hand: the service disables, never deletes).
 */
export interface GrantChange {
  seq: bigint
  id: string
  grant?: Grant
}

/**
 * The guardrails a write broke that only warn (src/grants/guardrails/): its audit entry records them
 * beside the grant (`after.guardrailWarnings`), so the change and what was said against it stay together.
 */
export interface GrantWarnings {
  guardrailWarnings?: readonly { rule: string; field: string; reason: string }[]
}

/** What a list of grants is narrowed to; every field given must hold. */
export interface GrantFilter {
  owner?: string
  subject?: string
  /** A team's share (src/admin-tokens/team-scope.ts): the owner is one of these... */
  owners?: readonly string[]
  /** ...and the subject (an ID or a glob) is one of these or lies below one, after a `/`. */
  subjectPrefixes?: readonly string[]
}

export interface GrantStore {
  /** Every change is written with its audit entry, on one transaction. */
  create(draft: GrantDraft, now: Date, actor: Actor, warnings?: GrantWarnings): Promise<Grant>
  get(id: string): Promise<Grant | undefined>
  /** A page in creation order (createdAt, then id). Throws InvalidInputError for a cursor it did not hand out. */
  list(filter: GrantFilter & PageRequest): Promise<Page<Grant>>
  /**
   * Replaces a grant if its version is still `expectedVersion`. Answers `undefined` when there is no
   * such grant and `'conflict'` when someone changed it first.
   */
  replace(
    id: string,
    draft: GrantDraft,
    expectedVersion: number,
    now: Date,
    actor: Actor,
    warnings?: GrantWarnings,
  ): Promise<Grant | undefined | 'conflict'>
  /**
   * Disables a grant; it stays on record so ledger rows keep pointing at it. A `reason` (the
   * service's own disables give one) is kept in the audit entry, as `after.reason`.
   */
  disable(id: string, now: Date, actor: Actor, reason?: string): Promise<Grant | undefined>
  /**
   * A page of the enabled grants not expired at `now` (what the exchange matches against), in
   * creation order. Throws InvalidInputError for a cursor it did not hand out.
   */
  listActive(now: Date, page: PageRequest): Promise<Page<Grant>>
  /** The position of the last change committed: where reading changes starts after a full load. */
  lastSeq(): Promise<bigint>
  /**
   * Up to `limit` grants changed (or deleted) after position `after`, in position order, each as it
   * stands now. Positions follow commit order (migrations/010_grant_changes.sql), so a reader that
   * moves `after` to the last position it read never skips a change.
   */
  changesSince(after: bigint, limit: number): Promise<GrantChange[]>
}
