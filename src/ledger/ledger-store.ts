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

export interface LedgerQuery {
  subject?: string
  /** Only entries not yet expired at this instant. */
  liveAt?: Date
  limit?: number
}

export interface LedgerStore {
  /** Durably records an issued token; throws ServiceUnavailableError if it cannot. */
  record(entry: LedgerEntry): Promise<void>
  get(jti: string): Promise<LedgerEntry | undefined>
  list(query: LedgerQuery): Promise<LedgerEntry[]>
}
