import * as crypto from 'node:crypto'
import type { LedgerEntry } from '../ledger-store.js'

/**
 * The canonical forms the ledger's hash chain is computed over (README, "Tamper evidence"), the same
 * whether the writer computes them from its entries in memory or `sts ledger verify` from the rows it
 * reads back. Anyone can recompute them from the database with SHA-256 and JSON alone.
 */

/** One-shot `crypto.hash` (Node 20.12 and later) where there is one: about half the cost of a Hash object per row. */
const sha256: (data: string | Buffer) => Buffer =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'buffer')
    : (data) => crypto.createHash('sha256').update(data).digest()

/** Prefixes the canonical form of a batch: a later change of the forms gets a new one. */
export const BATCH_FORM = 'seed-sts/ledger-batch/v1'

/**
 * A ledger row as stored, every column of ledger_entries in the table's order: timestamps in UTC
 * with microseconds (the column's precision, so an edit below the millisecond shows), uuids in lower
 * case, the fingerprint's bytes in base64url, arrays in their stored order.
 */
export interface CanonicalRow {
  issuedAt: string
  expiresAt: string
  jti: string
  subject: string
  attestor: string
  attestorKind: string
  attestationFingerprint: string
  sources: readonly (string | null)[]
  audience: string
  scopes: readonly (string | null)[]
  grantIds: readonly (string | null)[]
  clientAddress: string | null
  requestId: string | null
  kid: string | null
}

/** `2026-11-30T00:40:17.123000Z`: a Date (whole milliseconds) in the microsecond form Postgres stores. */
export function canonicalTime(at: Date): string {
  return `${at.toISOString().slice(0, -1)}000Z`
}

/** What the writer is about to store for `entry`, in the form verification reads it back in. */
export function canonicalRowOf(entry: LedgerEntry): CanonicalRow {
  return {
    issuedAt: canonicalTime(entry.issuedAt),
    expiresAt: canonicalTime(entry.expiresAt),
    jti: entry.jti.toLowerCase(),
    subject: entry.subject,
    attestor: entry.attestor,
    attestorKind: entry.attestorKind,
    attestationFingerprint: Buffer.from(entry.attestationFingerprint, 'base64url').toString('base64url'),
    sources: entry.sources,
    audience: entry.audience,
    scopes: entry.scopes,
    grantIds: entry.grantIds.map((id) => id.toLowerCase()),
    clientAddress: entry.clientAddress,
    requestId: entry.requestId,
    kid: entry.kid ?? null,
  }
}

/** SHA-256 of the row's JSON array of its columns in the table's order. */
export function rowHash(row: CanonicalRow): Buffer {
  const form = JSON.stringify([
    row.issuedAt,
    row.expiresAt,
    row.jti,
    row.subject,
    row.attestor,
    row.attestorKind,
    row.attestationFingerprint,
    row.sources,
    row.audience,
    row.scopes,
    row.grantIds,
    row.clientAddress,
    row.requestId,
    row.kid,
  ])
  return sha256(form)
}

/** SHA-256 of the rows' hashes, concatenated in jti order. */
export function rowsHash(rowHashes: Buffer): Buffer {
  return sha256(rowHashes)
}

/** A batch as ledger_batches holds it, but for its own hash and its rows. */
export interface BatchHeader {
  chainId: string
  seq: number
  /** The batch hash of the chain's batch before it; null for the chain's first. */
  prevHash: Buffer | null
  issuedFrom: string
  issuedTo: string
  committedAt: string
  rowCount: number
  rowsHash: Buffer
}

/** SHA-256 of the batch's JSON array: the form's name, then its columns (hashes in lower-case hex). */
export function batchHash(header: BatchHeader): Buffer {
  const form = JSON.stringify([
    BATCH_FORM,
    header.chainId.toLowerCase(),
    header.seq,
    header.prevHash === null ? null : header.prevHash.toString('hex'),
    header.issuedFrom,
    header.issuedTo,
    header.committedAt,
    header.rowCount,
    header.rowsHash.toString('hex'),
  ])
  return sha256(form)
}

/** Bytes of one row's hash in `row_hashes`. */
export const ROW_HASH_BYTES = 32
