/**
 * The rows of the inventory's roll-ups as the SQL writer (src/inventory/sql-identity-rollups.ts)
 * takes them, folded from ledger entries by src/inventory/rollup-accumulator.ts.
 */

/** How many sources an identity keeps: its most recent ones. A pod's own source is new at every restart. */
export const MAX_IDENTITY_SOURCES = 32

/** A scope of '' stands for the audience itself: every token has one, not every token has a scope. */
export const AUDIENCE_ROW = ''

export interface IdentityRollupRow {
  subject: string
  /** The latest entry's attestor. */
  attestor: string
  attestorKind: string
  /** Its sources, newest first (those of the newest entry, then older ones), each once, at most MAX_IDENTITY_SOURCES. */
  sources: string[]
  firstSeen: Date
  lastSeen: Date
}

export interface AccessRollupRow {
  subject: string
  grantId: string
  audience: string
  /** A scope, or AUDIENCE_ROW. */
  scope: string
  firstUsed: Date
  lastUsed: Date
}

export interface DailyRollupRow {
  subject: string
  /** The UTC day of issue, YYYY-MM-DD. */
  day: string
  tokens: number
}

/** Tokens issued to `subject` with `actor` acting for it (the current actor, a token's `act.sub`). */
export interface DelegationRollupRow {
  subject: string
  actor: string
  tokens: number
  firstSeen: Date
  lastSeen: Date
}

export interface IdentityRollup {
  identities: IdentityRollupRow[]
  access: AccessRollupRow[]
  delegations: DelegationRollupRow[]
  daily: DailyRollupRow[]
}
