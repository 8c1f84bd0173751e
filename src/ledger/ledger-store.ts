import type { Page, PageRequest } from '../lib/page.js'

/** One issued token, as responders need to see it. Never the token, never the attestation. */
export interface LedgerEntry {
  jti: string
  subject: string
  attestor: string
  attestorKind: string
  /** SHA-256 of the attestation, base64url: ties tokens to the attestation that got them. */
  attestationFingerprint: string
  sources: string[]
  audience: string
  scopes: string[]
  grantIds: string[]
  issuedAt: Date
  expiresAt: Date
  clientAddress: string | null
  requestId: string | null
  /** The signing key of the token; absent for tokens issued before the keys moved to the database. */
  kid?: string
  /** The thumbprint of the DPoP key the token is bound to (its `cnf.jkt`); absent for a bearer token. */
  jkt?: string
  /**
   * The jti of our own access token this one was exchanged from (its `subject_token`: downscoping, or
   * delegation of one of our tokens); absent for a token exchanged from an attestation.
   */
  parentJti?: string
  /** Every token of ours this one derives from, directly or not, as its `ancestor_jtis` claim, in its order. */
  ancestorJtis?: string[]
  /** The delegation chain, the current actor first (the token's `act`, outermost first); absent when nobody acts. */
  actors?: string[]
  /**
   * The attestation sources of the actors in the chain, after the subject's own in the token's `src_h`:
   * a source revocation of where an actor runs revokes what it holds for others. Absent when nobody acts.
   */
  actorSources?: string[]
  /**
   * The grants of the actor tokens of ours it was got with, after `grantIds` in the token's `grants`:
   * revoking one revokes it, as it revokes those tokens. Absent when no actor presented a token of ours.
   */
  actorGrantIds?: string[]
}

/** The incident view: every field narrows the answer, and all of them hold at once. */
export interface LedgerFilter {
  /** A SPIFFE ID, or a glob of them with the semantics of src/lib/glob.ts (whole value, `*` within a segment). */
  subject?: string
  /** A team's share (src/admin-tokens/team-scope.ts): the subject is one of these or lies below one, after a `/`. */
  subjectPrefixes?: readonly string[]
  /** A grant id: entries that this grant (among others) allowed. */
  grant?: string
  /** An attestation source such as `k8s:prod:node:node-a`: entries whose attestation came from it. */
  source?: string
  audience?: string
  /** Issued at or after this instant. */
  since?: Date
  /** Issued before this instant. */
  until?: Date
  /** `true`: only entries not yet expired at `now`; `false`: only those expired by then. */
  live?: boolean
  /** A SPIFFE ID, exactly: entries whose actor chain (`actors`) holds it, at any depth. */
  actor?: string
}

export const MAX_LEDGER_PAGE = 1000

export interface LedgerStore {
  /** Durably records an issued token; throws ServiceUnavailableError if it cannot. */
  record(entry: LedgerEntry): Promise<void>
  get(jti: string): Promise<LedgerEntry | undefined>
  /**
   * One page of the entries matching `filter`, newest first (`issuedAt` descending, then `jti`
   * descending); `now` decides what `live` means. `limit` is 1 to MAX_LEDGER_PAGE.
   * Throws InvalidInputError for a cursor it did not hand out, ServiceUnavailableError if it cannot read.
   */
  search(filter: LedgerFilter & PageRequest, now: Date): Promise<Page<LedgerEntry>>
}
