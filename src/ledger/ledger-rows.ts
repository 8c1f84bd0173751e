import type { LedgerEntry } from './ledger-store.js'

/**
 * A ledger entry as a row of ledger_entries and back: the values an INSERT binds, in the order of
 * ENTRY_SELECT (src/ledger/ledger-tables.ts), and the entry a read of those columns makes.
 */

export interface LedgerRow {
  jti: string
  subject: string
  attestor: string
  attestor_kind: string
  /** A Buffer from pg, a Uint8Array from PGlite. */
  attestation_fingerprint: Uint8Array
  sources: string[]
  audience: string
  scopes: string[]
  grant_ids: string[]
  issued_at: Date
  expires_at: Date
  client_address: string | null
  request_id: string | null
  kid: string | null
  jkt: string | null
  parent_jti: string | null
  ancestor_jtis: string[] | null
  actors: string[] | null
  actor_sources: string[] | null
  actor_grant_ids: string[] | null
}

/** The values of `entry`'s row, in ENTRY_SELECT's order; an absent field is NULL. */
export function rowValues(entry: LedgerEntry): unknown[] {
  return [
    entry.jti,
    entry.subject,
    entry.attestor,
    entry.attestorKind,
    Buffer.from(entry.attestationFingerprint, 'base64url'),
    entry.sources,
    entry.audience,
    entry.scopes,
    entry.grantIds,
    entry.issuedAt,
    entry.expiresAt,
    entry.clientAddress,
    entry.requestId,
    entry.kid ?? null,
    entry.jkt ?? null,
    entry.parentJti ?? null,
    entry.ancestorJtis ?? null,
    entry.actors ?? null,
    entry.actorSources ?? null,
    entry.actorGrantIds ?? null,
  ]
}

/** The entry a row holds; a NULL among the later columns is left out, so an entry reads back as it was written. */
export function toEntry(row: LedgerRow): LedgerEntry {
  return {
    jti: row.jti,
    subject: row.subject,
    attestor: row.attestor,
    attestorKind: row.attestor_kind,
    attestationFingerprint: Buffer.from(row.attestation_fingerprint).toString('base64url'),
    sources: row.sources,
    audience: row.audience,
    scopes: row.scopes,
    grantIds: row.grant_ids,
    issuedAt: new Date(row.issued_at),
    expiresAt: new Date(row.expires_at),
    clientAddress: row.client_address,
    requestId: row.request_id,
    // Left out when unknown (tokens issued before migration 016), so such entries read as they were written.
    ...(row.kid === null ? {} : { kid: row.kid }),
    ...(row.jkt === null ? {} : { jkt: row.jkt }),
    ...(row.parent_jti === null ? {} : { parentJti: row.parent_jti }),
    ...(row.ancestor_jtis === null ? {} : { ancestorJtis: row.ancestor_jtis }),
    ...(row.actors === null ? {} : { actors: row.actors }),
    ...(row.actor_sources === null ? {} : { actorSources: row.actor_sources }),
    ...(row.actor_grant_ids === null ? {} : { actorGrantIds: row.actor_grant_ids }),
  }
}
