import type { LedgerEntry } from '../ledger/ledger-store.js'

/**
 * A batch of ledger entries folded into the rows of the inventory's roll-ups, one row per key, so each
 * roll-up table takes one upsert per batch however many tokens the batch holds (an upsert statement
 * may not touch the same row twice). Pure: the SQL writer sends what this answers.
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
  /** The batch's sources, the newest entry's first, each once, at most MAX_IDENTITY_SOURCES. */
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

export interface IdentityRollup {
  identities: IdentityRollupRow[]
  access: AccessRollupRow[]
  daily: DailyRollupRow[]
}

export function rollUp(entries: readonly LedgerEntry[]): IdentityRollup {
  const identities = new Map<string, IdentityRollupRow>()
  const access = new Map<string, AccessRollupRow>()
  const daily = new Map<string, DailyRollupRow>()
  // Newest first, so an identity's sources come out newest first and its attestor is the latest one.
  const newestFirst = [...entries].sort((a, b) => b.issuedAt.getTime() - a.issuedAt.getTime())
  for (const entry of newestFirst) {
    const at = entry.issuedAt
    const identity = identities.get(entry.subject)
    if (identity === undefined) {
      identities.set(entry.subject, {
        subject: entry.subject,
        attestor: entry.attestor,
        attestorKind: entry.attestorKind,
        sources: [...new Set(entry.sources)].slice(0, MAX_IDENTITY_SOURCES),
        firstSeen: at,
        lastSeen: at,
      })
    } else {
      identity.firstSeen = at
      for (const source of entry.sources) {
        if (identity.sources.length < MAX_IDENTITY_SOURCES && !identity.sources.includes(source)) identity.sources.push(source)
      }
    }
    for (const grantId of entry.grantIds) {
      for (const scope of [AUDIENCE_ROW, ...entry.scopes]) {
        const key = JSON.stringify([entry.subject, grantId, entry.audience, scope])
        const row = access.get(key)
        if (row === undefined)
          access.set(key, { subject: entry.subject, grantId, audience: entry.audience, scope, firstUsed: at, lastUsed: at })
        else row.firstUsed = at
      }
    }
    const day = at.toISOString().slice(0, 10)
    const key = JSON.stringify([entry.subject, day])
    const row = daily.get(key)
    if (row === undefined) daily.set(key, { subject: entry.subject, day, tokens: 1 })
    else row.tokens += 1
  }
  return { identities: [...identities.values()], access: [...access.values()], daily: [...daily.values()] }
}
