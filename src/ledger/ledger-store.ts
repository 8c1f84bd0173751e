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
}

/** The incident view: every field narrows the answer, and all of them hold at once. */
export interface LedgerFilter {
  /** A SPIFFE ID, or a glob of them with the semantics of src/lib/glob.ts (whole value, `*` within a segment). */
  subject?: string
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
  /** A `nextCursor` from an earlier page with the same filter. */
  cursor?: string
  /** 1 to MAX_LEDGER_PAGE. */
  limit: number
}

export interface LedgerPage {
  /** Newest first: `issuedAt` descending, then `jti` descending. */
  entries: LedgerEntry[]
  /** Pass back as `cursor` for the next page; absent on the last page. */
  nextCursor?: string
}

export const MAX_LEDGER_PAGE = 1000

export interface LedgerStore {
  /** Durably records an issued token; throws ServiceUnavailableError if it cannot. */
  record(entry: LedgerEntry): Promise<void>
  get(jti: string): Promise<LedgerEntry | undefined>
  /**
   * One page of the entries matching `filter`, newest first; `now` decides what `live` means.
   * Throws ValidationProblem for a cursor it did not hand out, ServiceUnavailableError if it cannot read.
   */
  search(filter: LedgerFilter, now: Date): Promise<LedgerPage>
}
