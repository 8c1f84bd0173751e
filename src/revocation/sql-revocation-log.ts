import { randomUUID } from 'node:crypto'
import type { Database, Queryable } from '../db/database.js'
import { decodeSequenceCursor, pageOf, sequenceCursor, SqlConditions } from '../db/sql.js'
import { storeFailure, StsError } from '../errors.js'
import { UUID_PATTERN } from '../lib/ids.js'
import type { PageRequest } from '../lib/page.js'
import { prunedCursor, type RevocationFilter, type RevocationLog, type RevocationPage } from './revocation-log.js'
import type { Revocation, RevocationKind } from './revocation.js'

interface RevocationRow {
  id: string
  kind: RevocationKind
  value: string
  reason: string
  created_at: Date
  created_by: string
  expires_at: Date | null
  lifted_at: Date | null
  lifted_by: string | null
  lift_reason: string | null
  seq: string
}

const COLUMNS = 'id, kind, value, reason, created_at, created_by, expires_at, lifted_at, lifted_by, lift_reason, seq'

/** The highest position retention pruned, 0 before any: a one-row relation. */
const PRUNED_THROUGH = `(SELECT coalesce((SELECT pruned_through FROM retention_watermarks WHERE log = 'revocations'), 0) AS pruned_through)`

/** The revocation log on Postgres or PGlite: the same SQL on both. */
export class SqlRevocationLog implements RevocationLog {
  constructor(private readonly db: Database) {}

  /** A failure of the database itself becomes a 503 (storeFailure: a data error is a 500); our own errors pass. */
  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    try {
      return await this.db.transaction(work)
    } catch (error) {
      if (error instanceof StsError) throw error
      throw storeFailure('the revocation log cannot be written', error, 'revocations_unavailable')
    }
  }

  async standing(tx: Queryable, kind: RevocationKind, value: string): Promise<Revocation | undefined> {
    const rows = await tx.query<RevocationRow>(`SELECT ${COLUMNS} FROM revocations WHERE kind = $1 AND value = $2 AND lifted_at IS NULL`, [
      kind,
      value,
    ])
    return rows.map(toRevocation).at(0)
  }

  async insert(tx: Queryable, draft: Omit<Revocation, 'id' | 'seq' | 'liftedAt' | 'liftedBy' | 'liftReason'>): Promise<Revocation> {
    const rows = await tx.query<RevocationRow>(
      `INSERT INTO revocations (id, kind, value, reason, created_at, created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
      [randomUUID(), draft.kind, draft.value, draft.reason, draft.createdAt, draft.createdBy, draft.expiresAt],
    )
    return toRevocation(rows[0])
  }

  async lift(tx: Queryable, id: string, at: Date, by: string, reason: string): Promise<Revocation | undefined> {
    // The lift takes the next position from the table's trigger (migrations/014), in commit order.
    const rows = await tx.query<RevocationRow>(
      `UPDATE revocations SET lifted_at = $2, lifted_by = $3, lift_reason = $4
       WHERE id = $1 AND lifted_at IS NULL RETURNING ${COLUMNS}`,
      [id, at, by, reason],
    )
    return rows.map(toRevocation).at(0)
  }

  async get(id: string, tx?: Queryable): Promise<Revocation | undefined> {
    if (!UUID_PATTERN.test(id)) return undefined
    if (tx) return (await tx.query<RevocationRow>(`SELECT ${COLUMNS} FROM revocations WHERE id = $1`, [id])).map(toRevocation).at(0)
    const rows = await this.read(`SELECT ${COLUMNS} FROM revocations WHERE id = $1`, [id])
    return rows.at(0)
  }

  async lastSeq(): Promise<bigint> {
    // Past the watermark even when retention pruned every row: positions never go back.
    return this.readPosition(
      `SELECT greatest(coalesce(max(seq), 0), (SELECT pruned_through FROM ${PRUNED_THROUGH} w)) AS seq FROM revocations`,
    )
  }

  async prunedThrough(): Promise<bigint> {
    return this.readPosition(`SELECT pruned_through AS seq FROM ${PRUNED_THROUGH} w`)
  }

  async prune(before: Date, limit: number): Promise<number> {
    try {
      const rows = await this.db.query<{ pruned: string }>(
        `WITH pruned AS (
           DELETE FROM revocations WHERE id IN (
             SELECT id FROM revocations WHERE lifted_at < $1 OR expires_at < $1 ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED
           ) RETURNING seq
         ), moved AS (
           UPDATE retention_watermarks SET pruned_through = greatest(pruned_through, (SELECT max(seq) FROM pruned))
           WHERE log = 'revocations' AND EXISTS (SELECT 1 FROM pruned)
         )
         SELECT count(*) AS pruned FROM pruned`,
        [before, limit],
      )
      return Number(rows[0]?.pruned ?? 0)
    } catch (error) {
      throw storeFailure('the revocation log cannot be pruned', error, 'revocations_unavailable')
    }
  }

  async listInForce(now: Date): Promise<Revocation[]> {
    return this.read(
      `SELECT ${COLUMNS} FROM revocations WHERE lifted_at IS NULL AND (expires_at IS NULL OR expires_at > $1) ORDER BY seq`,
      [now],
    )
  }

  async list(filter: RevocationFilter & PageRequest, now: Date): Promise<RevocationPage> {
    const conditions = new SqlConditions()
    if (filter.kind !== undefined) conditions.add('kind = ?', filter.kind)
    if (filter.value !== undefined) conditions.add('value = ?', filter.value)
    if (filter.active === true) conditions.add('lifted_at IS NULL AND (expires_at IS NULL OR expires_at > ?)', now)
    if (filter.active === false) conditions.add('lifted_at IS NOT NULL OR expires_at <= ?', now)
    // A page of a listing goes on after its cursor; a poller or a stream resumes after `since`.
    const cursor = filter.cursor === undefined ? undefined : decodeSequenceCursor(filter.cursor)
    const since = filter.since === undefined ? undefined : decodeSequenceCursor(filter.since)
    const after = cursor ?? since
    if (after !== undefined) conditions.add('seq > ?', String(after))
    const limit = conditions.param(filter.limit + 1)
    let rows: (Omit<RevocationRow, 'id'> & { id: string | null; pruned_through: string })[]
    try {
      // One statement, so the page and the watermark are of the same moment: pruning between two
      // reads could otherwise leave a gap no check would see.
      rows = await this.db.query(
        `SELECT w.pruned_through, r.* FROM ${PRUNED_THROUGH} w
         LEFT JOIN LATERAL (SELECT ${COLUMNS} FROM revocations ${conditions.where} ORDER BY seq LIMIT ${limit}) r ON true ORDER BY r.seq`,
        conditions.params,
      )
    } catch (error) {
      throw storeFailure('the revocation log cannot be read', error, 'revocations_unavailable')
    }
    const prunedThrough = BigInt(rows[0]?.pruned_through ?? 0)
    // Resuming from before what was pruned could miss a lift. A listing's next page may well start
    // below the watermark (a revocation standing for months keeps its old position), and misses
    // nothing in force if pruning happens meanwhile: what is pruned is lifted or expired.
    if (cursor === undefined && since !== undefined && since < prunedThrough) throw prunedCursor(since, prunedThrough)
    const revocations = rows.filter((row): row is RevocationRow & { pruned_through: string } => row.id !== null).map(toRevocation)
    const page = pageOf(revocations, filter.limit, (last) => sequenceCursor(last.seq))
    if (page.nextCursor !== undefined) return { ...page, position: page.nextCursor }
    // The last page saw everything there is after `after`, and everything pruned is at or below the
    // watermark: polling from there misses nothing, and is not refused as gone.
    const last = page.items.at(-1)?.seq ?? after ?? 0n
    return { ...page, position: sequenceCursor(last > prunedThrough ? last : prunedThrough) }
  }

  private async readPosition(sql: string): Promise<bigint> {
    try {
      const rows = await this.db.query<{ seq: string }>(sql)
      return BigInt(rows[0]?.seq ?? 0)
    } catch (error) {
      throw storeFailure('the revocation log cannot be read', error, 'revocations_unavailable')
    }
  }

  private async read(sql: string, params: unknown[]): Promise<Revocation[]> {
    try {
      return (await this.db.query<RevocationRow>(sql, params)).map(toRevocation)
    } catch (error) {
      throw storeFailure('the revocation log cannot be read', error, 'revocations_unavailable')
    }
  }
}

function toRevocation(row: RevocationRow): Revocation {
  return {
    id: row.id,
    kind: row.kind,
    value: row.value,
    reason: row.reason,
    createdAt: new Date(row.created_at),
    createdBy: row.created_by,
    expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
    liftedAt: row.lifted_at === null ? null : new Date(row.lifted_at),
    liftedBy: row.lifted_by,
    liftReason: row.lift_reason,
    seq: BigInt(row.seq),
  }
}
