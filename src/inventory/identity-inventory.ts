import type { Page, PageRequest } from '../lib/page.js'

/**
 * The inventory of workload identities: every identity that got a token, from the roll-ups written
 * behind the ledger (src/inventory/inventory-recorder.ts), so up to an interval behind it. Reads never
 * touch the ledger, and what they answer outlives its retention.
 */

/** When something was first and last part of a token. */
export interface Use {
  firstUsed: Date
  lastUsed: Date
}

/** What an identity obtained through one grant: an audience (`scope` undefined) or one scope of it. */
export interface IdentityAccess extends Use {
  grantId: string
  audience: string
  scope?: string
}

export interface Identity {
  subject: string
  /** The attestor (and its kind) of the identity's latest token. */
  attestor: string
  attestorKind: string
  /** The most recent sources, newest first, at most MAX_IDENTITY_SOURCES. */
  sources: string[]
  firstSeen: Date
  lastSeen: Date
  /** Ordered by grant, audience, then scope (the audience's own row first). */
  access: IdentityAccess[]
}

export interface DailyTokens {
  /** A UTC day, YYYY-MM-DD. */
  day: string
  tokens: number
}

/** Tokens issued with one workload acting for another (a delegated token's current actor and its subject). */
export interface DelegationUse {
  tokens: number
  firstSeen: Date
  lastSeen: Date
}

export interface IdentityDetail extends Identity {
  /** Oldest first; days without tokens are left out; kept INVENTORY_DAILY_RETENTION_DAYS. */
  dailyTokens: DailyTokens[]
  /** Who acted for this identity: at most MAX_DELEGATIONS_SHOWN, the most recently seen first. */
  delegations: (DelegationUse & { actor: string })[]
  /** Whom this identity acted for: at most MAX_DELEGATIONS_SHOWN, the most recently seen first. */
  actedFor: (DelegationUse & { subject: string })[]
}

/** Every field narrows the answer, and all of them hold at once. */
export interface IdentityFilter {
  /** A SPIFFE ID, or a glob of them (src/lib/glob.ts), as the ledger's `subject`. */
  subject?: string
  /** The name of the attestor of the identity's latest token. */
  attestor?: string
  /** One of the identity's kept sources. */
  source?: string
  /** Last seen strictly before this instant. */
  lastSeenBefore?: Date
  /** Last seen at or after this instant. */
  lastSeenAfter?: Date
  /** Only identities under one of these SPIFFE ID prefixes, at a path-segment boundary (a team's scope). */
  subjectPrefixes?: readonly string[]
}

export const MAX_IDENTITY_PAGE = 500

/** How many delegations, and how many identities acted for, one identity's detail shows. */
export const MAX_DELEGATIONS_SHOWN = 100

/** How long daily token counts are kept; the rest of an identity is kept for good. */
export const INVENTORY_DAILY_RETENTION_DAYS = 400

export interface IdentityInventory {
  /**
   * One page of the identities matching `filter`, by subject (byte order). `limit` is 1 to
   * MAX_IDENTITY_PAGE. Throws InvalidInputError for a cursor it did not hand out,
   * ServiceUnavailableError if it cannot read.
   */
  list(filter: IdentityFilter & PageRequest): Promise<Page<Identity>>
  /**
   * One identity by its exact subject, with its daily token counts and delegations; undefined if it
   * never got a token. `actedForUnder` (a team's scope) keeps to those prefixes the identities it is
   * shown to have acted for.
   */
  get(subject: string, actedForUnder?: readonly string[]): Promise<IdentityDetail | undefined>
  /** Deletes the daily counts of days before `before`'s UTC day; answers how many. */
  pruneDailyCounts(before: Date): Promise<number>
}
