import type { Queryable } from '../../db/database.js'
import { ROW_HASH_BYTES, rowHash, type CanonicalRow } from './batch-hash.js'
import { canonicalTimeSql } from './verify-batches.js'
import type { LedgerFinding } from './verification.js'

const ROW_PAGE = 5000

/** What the row walk needs to know besides the rows. */
export interface RowWalkOptions {
  since: Date | null
  until: Date | null
  /** Rows issued before this were never chained: not looked at. */
  chainedSince: Date | null
  /** Rows without a batch issued before this are the previous release's (its rolling restart). */
  chainedUntil: Date | null
  /** The periods ledger retention dropped. */
  dropped: readonly { from: Date; to: Date }[]
}

export interface RowWalk {
  rows: number
  unchained: number
  retentionBatches: number
  retentionRows: number
}

interface OpenBatch {
  chainId: string
  seq: number
  issuedFrom: Date
  issuedTo: Date
  rowCount: number
  /** Null once retention compaction cleared them. */
  jtis: string[] | null
  hashes: Buffer
  seen: boolean[]
}

interface RowRead {
  issued_at: string
  expires_at: string
  jti: string
  subject: string
  attestor: string
  attestor_kind: string
  attestation_fingerprint: Uint8Array
  sources: (string | null)[]
  audience: string
  scopes: (string | null)[]
  grant_ids: (string | null)[]
  client_address: string | null
  request_id: string | null
  kid: string | null
}

const ROW_SELECT = `${canonicalTimeSql('issued_at')} AS issued_at, ${canonicalTimeSql('expires_at')} AS expires_at, jti::text AS jti,
  subject, attestor, attestor_kind, attestation_fingerprint, sources, audience, scopes, grant_ids::text[] AS grant_ids,
  client_address, request_id, kid`

/**
 * Walks the ledger's rows in issue order, a page at a time, beside the batches that hold them: each
 * row must be in a batch with the hash the batch holds for it, and each row a batch holds must be
 * there, unless retention dropped its period. Rows are read from the earliest batch overlapping the
 * range to the latest, so a batch's rows are all seen; only the range's rows and batches are reported on.
 */
export async function walkRows(db: Queryable, options: RowWalkOptions, report: (finding: LedgerFinding) => void): Promise<RowWalk> {
  const since = latest(options.since, options.chainedSince)
  const { until } = options
  const bounds = (
    await db.query<{ lo: Date | null; hi: Date | null }>(
      `SELECT min(issued_from) AS lo, max(issued_to) AS hi FROM ledger_batches
        WHERE ($1::timestamptz IS NULL OR issued_to >= $1) AND ($2::timestamptz IS NULL OR issued_from < $2)`,
      [since, until],
    )
  )[0]
  const lo = bounds?.lo == null ? null : new Date(bounds.lo)
  const hi = bounds?.hi == null ? null : new Date(bounds.hi)
  const readFrom = since === null || lo === null ? (since ?? lo) : new Date(Math.min(since.getTime(), lo.getTime()))
  const readTo = until === null ? null : hi === null ? until : new Date(Math.max(until.getTime(), hi.getTime() + 1))
  const walk: RowWalk = { rows: 0, unchained: 0, retentionBatches: 0, retentionRows: 0 }
  const open = new Map<string, OpenBatch>()
  const byJti = new Map<string, { batch: OpenBatch; index: number }>()
  let loadedThrough = readFrom === null ? null : new Date(readFrom.getTime() - 1)

  const load = async (through: Date | null): Promise<void> => {
    const rows = await db.query<{
      chain_id: string
      seq: string | number
      issued_from: Date
      issued_to: Date
      row_count: number
      jtis: string[] | null
      row_hashes: Uint8Array | null
    }>(
      `SELECT chain_id, seq, issued_from, issued_to, row_count, jtis::text[] AS jtis, row_hashes FROM ledger_batches
        WHERE ($1::timestamptz IS NULL OR issued_from > $1) AND ($2::timestamptz IS NULL OR issued_from <= $2)
          AND ($3::timestamptz IS NULL OR issued_to >= $3) AND ($4::timestamptz IS NULL OR issued_from < $4)
        ORDER BY issued_from, chain_id, seq`,
      [loadedThrough, through, since, until],
    )
    for (const row of rows) {
      if (row.jtis === null) {
        // Compacted: retention dropped its rows (and only retention clears them), nothing to match.
        walk.retentionBatches += 1
        walk.retentionRows += row.row_count
        continue
      }
      const batch: OpenBatch = {
        chainId: row.chain_id,
        seq: Number(row.seq),
        issuedFrom: new Date(row.issued_from),
        issuedTo: new Date(row.issued_to),
        rowCount: row.row_count,
        jtis: row.jtis,
        hashes: row.row_hashes === null ? Buffer.alloc(0) : Buffer.from(row.row_hashes),
        seen: (row.jtis ?? []).map(() => false),
      }
      open.set(`${batch.chainId}:${batch.seq}`, batch)
      batch.jtis?.forEach((jti, index) => byJti.set(jti, { batch, index }))
    }
    loadedThrough = through
  }

  const finish = (batch: OpenBatch): void => {
    open.delete(`${batch.chainId}:${batch.seq}`)
    batch.jtis?.forEach((jti) => byJti.delete(jti))
    const retained = options.dropped.some((drop) => batch.issuedFrom < drop.to && batch.issuedTo >= drop.from)
    if (batch.jtis === null) return
    const missing = batch.jtis.filter((_, i) => batch.seen[i] !== true)
    if (missing.length === 0) return
    if (retained) {
      walk.retentionBatches += 1
      walk.retentionRows += missing.length
      return
    }
    for (const jti of missing) report({ kind: 'row-deleted', chainId: batch.chainId, seq: batch.seq, jti })
  }
  const finishBefore = (at: Date | null): void => {
    const done = [...open.values()].filter((batch) => at === null || batch.issuedTo < at)
    done.sort((a, b) => {
      const byTime = a.issuedFrom.getTime() - b.issuedFrom.getTime()
      if (byTime !== 0) return byTime
      const byChain = compare(a.chainId, b.chainId)
      return byChain !== 0 ? byChain : a.seq - b.seq
    })
    done.forEach(finish)
  }

  let after: [string, string] | undefined
  for (;;) {
    const params: unknown[] = [readFrom, readTo]
    const conditions = ['($1::timestamptz IS NULL OR issued_at >= $1)', '($2::timestamptz IS NULL OR issued_at < $2)']
    if (after) conditions.push(`(issued_at, jti) > ($${params.push(after[0])}::timestamptz, $${params.push(after[1])}::uuid)`)
    const rows = await db.query<RowRead>(
      `SELECT ${ROW_SELECT} FROM ledger_entries WHERE ${conditions.join(' AND ')} ORDER BY issued_at, jti LIMIT ${ROW_PAGE}`,
      params,
    )
    const last = rows[rows.length - 1]
    // Every batch that can hold a row of this page: one whose rows start no later than its last.
    await load(last === undefined ? null : msOf(last.issued_at))
    for (const row of rows) check(row)
    if (rows.length < ROW_PAGE || last === undefined) break
    finishBefore(msOf(last.issued_at))
    after = [last.issued_at, last.jti]
  }
  finishBefore(null)
  return walk

  function check(row: RowRead): void {
    const at = msOf(row.issued_at)
    const inRange = (since === null || at >= since) && (until === null || at < until)
    const place = byJti.get(row.jti)
    if (place !== undefined && place.batch.seen[place.index] !== true) {
      place.batch.seen[place.index] = true
      walk.rows += 1
      const stored = place.batch.hashes.subarray(place.index * ROW_HASH_BYTES, (place.index + 1) * ROW_HASH_BYTES)
      if (!rowHash(canonicalRowRead(row)).equals(stored)) {
        report({ kind: 'row-changed', chainId: place.batch.chainId, seq: place.batch.seq, jti: row.jti })
      }
      return
    }
    if (!inRange) return
    // A second row with a jti its batch already matched is an addition as much as a row no batch holds.
    if (place === undefined && options.chainedUntil !== null && at < options.chainedUntil) walk.unchained += 1
    else report({ kind: 'row-inserted', jti: row.jti, issuedAt: row.issued_at })
  }
}

function canonicalRowRead(row: RowRead): CanonicalRow {
  return {
    issuedAt: row.issued_at,
    expiresAt: row.expires_at,
    jti: row.jti,
    subject: row.subject,
    attestor: row.attestor,
    attestorKind: row.attestor_kind,
    attestationFingerprint: Buffer.from(row.attestation_fingerprint).toString('base64url'),
    sources: row.sources,
    audience: row.audience,
    scopes: row.scopes,
    grantIds: row.grant_ids,
    clientAddress: row.client_address,
    requestId: row.request_id,
    kid: row.kid,
  }
}

/** The millisecond a canonical timestamp falls in (the batches' bounds are whole milliseconds). */
function msOf(canonical: string): Date {
  return new Date(canonical.slice(0, 23) + 'Z')
}

function latest(a: Date | null, b: Date | null): Date | null {
  if (a === null) return b
  if (b === null) return a
  return a > b ? a : b
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
