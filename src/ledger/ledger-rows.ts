import type { LedgerEntry } from './ledger-store.js'

/**
 * A ledger entry as a compact row of ledger_rows (the values an INSERT binds) and back from a read
 * of ENTRY_SELECT (src/ledger/ledger-tables.ts) through the `ledger_entries` view.
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

/** The columns of a compact row (ledger_rows, migration 023), in the order compactRowValues binds them. */
export const COMPACT_COLUMNS =
  'jti, request_uuid, subject_id, attestor, attestor_kind, attestation_fingerprint, source_ids, audience, scopes, grant_ids, ' +
  'issued_at, expires_at, client_address, request_id, kid, jkt, parent_jti, ancestor_jtis, actors, actor_sources, actor_grant_ids'

/** The ids the service makes for requests (src/app.ts): a bare UUID, stored as one (16 bytes, not 37). */
const SERVICE_REQUEST_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/**
 * The values of `entry`'s compact row, in COMPACT_COLUMNS' order: its subject and sources as the
 * dictionaries number them (every one must be numbered), its request id as a uuid where it is one.
 */
export function compactRowValues(entry: LedgerEntry, subjectId: number | undefined, sourceIds: (number | undefined)[]): unknown[] {
  if (subjectId === undefined || sourceIds.some((id) => id === undefined))
    throw new Error(`ledger entry ${entry.jti}: a value has no number`)
  const requestUuid = entry.requestId !== null && SERVICE_REQUEST_ID.test(entry.requestId) ? entry.requestId : null
  return [
    entry.jti,
    requestUuid,
    subjectId,
    entry.attestor,
    entry.attestorKind,
    Buffer.from(entry.attestationFingerprint, 'base64url'),
    sourceIds,
    entry.audience,
    entry.scopes,
    entry.grantIds,
    entry.issuedAt,
    entry.expiresAt,
    entry.clientAddress,
    requestUuid === null ? entry.requestId : null,
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
