/**
 * What the least-privilege report reads besides the grants: the inventory's roll-ups (what each grant
 * served, and to whom) and the admin tokens' team scopes. Never the ledger: every answer comes from
 * tables of one row per identity, per (identity, grant, audience, scope) or per admin token.
 */

/**
 * One (grant, audience, scope) of the roll-ups, over every identity. The roll-ups credit a token's
 * audience and scopes to each grant in its `grantIds`, so a row may name a scope the grant does not
 * hold (another grant of the same token gave it): the report intersects with the grant's own.
 */
export interface GrantAccessUse {
  grantId: string
  audience: string
  /** Undefined: the audience itself. */
  scope?: string
  lastUsed: Date
}

/** One (grant, identity, audience, scope) used at or after `since`: what a split of the grant keeps. */
export interface SubjectAccessUse {
  grantId: string
  subject: string
  audience: string
  scope?: string
}

/** An identity last seen before the report's window. */
export interface StaleIdentity {
  subject: string
  attestor: string
  lastSeen: Date
}

export interface GrantUsageReader {
  /** Every roll-up row of these grants, folded over identities: each with its latest use. */
  accessOf(grantIds: readonly string[]): Promise<GrantAccessUse[]>
  /** How many identities got a token through each of these grants at or after `since`; grants without any are left out. */
  identitiesSince(grantIds: readonly string[], since: Date): Promise<Map<string, number>>
  /**
   * What each identity got through these grants at or after `since`, for the grants used by at most
   * `maxIdentities` identities in that time (the others are left out), by grant, subject, audience, scope.
   */
  subjectAccessSince(grantIds: readonly string[], since: Date, maxIdentities: number): Promise<SubjectAccessUse[]>
  /**
   * Up to `limit` identities last seen before `before`, longest unseen first; with `subjectPrefixes`,
   * only those at or below one of them (a team's).
   */
  staleIdentities(before: Date, limit: number, subjectPrefixes?: readonly string[]): Promise<StaleIdentity[]>
  /**
   * Up to `limit` live grants (enabled, not expired at `now`) created before `before` that gave none
   * of their audiences to a token at or after it, oldest first: what the unused-grant policy disables.
   */
  unusedGrantIds(before: Date, now: Date, limit: number): Promise<string[]>
  /** The owners some live admin token (not revoked, not expired at `now`) is scoped to. */
  ownersWithLiveAdminTokens(now: Date): Promise<Set<string>>
}
