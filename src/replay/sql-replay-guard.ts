import { createHash } from 'node:crypto'
import type { Queryable } from '../db/database.js'
import { ServiceUnavailableError } from '../errors.js'
import type { Clock } from '../lib/clock.js'
import type { ReplayGuard } from './replay-guard.js'

export interface SqlReplayGuardOptions {
  /** How often expired claims are pruned; 0 for never (tests prune by hand). */
  pruneIntervalMs: number
  /** Rows per DELETE, so no prune holds locks or a PGlite queue for long. */
  pruneBatchSize: number
  /** At most this many batches per run; what is left waits for the next run. */
  pruneMaxBatches: number
  /** Told when a timed prune fails (the next run tries again; claims are unaffected). */
  onPruneError?: (error: unknown) => void
}

const DEFAULTS: SqlReplayGuardOptions = { pruneIntervalMs: 60_000, pruneBatchSize: 1000, pruneMaxBatches: 20 }

/** Longer keys (a signed but absurd `jti`) are stored by digest: a btree entry has a size limit. */
const MAX_STORED_KEY = 512
const STORABLE = /^[^\p{Cc}\p{Cs}]*$/u
const UNSTORABLE = /[\p{Cc}\p{Cs}]/gu

/**
 * The record of single-use claims: one row per claimed attestation in Postgres (or PGlite), made with
 * INSERT ... ON CONFLICT so that of any number of concurrent presentations, on any instance, exactly
 * one wins. The row outlives any Redis in front of it, so a Redis that loses its data cannot turn a
 * replay into a first use. A row whose attestation has expired may be claimed again (the attestation
 * itself is refused by then anyway) and is pruned on a timer.
 */
export class SqlReplayGuard implements ReplayGuard {
  private readonly options: SqlReplayGuardOptions
  private readonly timer: NodeJS.Timeout | undefined
  private pruning: Promise<number> | undefined

  constructor(
    private readonly db: Queryable,
    private readonly clock: Clock,
    options: Partial<SqlReplayGuardOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options }
    if (this.options.pruneIntervalMs > 0) {
      this.timer = setInterval(
        () => void this.prune().catch((error: unknown) => this.options.onPruneError?.(error)),
        this.options.pruneIntervalMs,
      )
      // Pruning is housekeeping: it must never keep a process alive that is otherwise done.
      this.timer.unref()
    }
  }

  async claim(key: string, until: Date): Promise<boolean> {
    const now = this.clock.now()
    // Already past its lifetime: the attestation itself is refused elsewhere; nothing to remember.
    if (until.getTime() <= now) return true
    try {
      // An expired row is taken over in the same statement; under concurrency the row lock makes the
      // losers re-check the WHERE against the winner's new expiry, so they get no row back.
      const rows = await this.db.query(
        `INSERT INTO attestation_claims (key, expires_at) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE attestation_claims.expires_at <= $3
         RETURNING key`,
        [storedKey(key), until, new Date(now)],
      )
      return rows.length > 0
    } catch (error) {
      throw new ServiceUnavailableError('replay protection cannot be checked', 'replay_guard_unavailable', error)
    }
  }

  /**
   * Several claims in one statement, answered in their order: what claim() answers for each, as if
   * they had come one after another (of two claims of one key here, the first wins). The rows are
   * written in key order, so two batches on two instances lock shared keys in the same order and
   * never deadlock.
   */
  async claimMany(claims: ReadonlyArray<{ key: string; until: Date }>): Promise<boolean[]> {
    const now = this.clock.now()
    const answers: boolean[] = claims.map(() => true)
    const byKey = new Map<string, { until: Date; indexes: number[] }>()
    claims.forEach(({ key, until }, index) => {
      // Already past its lifetime: nothing to remember (as claim() answers).
      if (until.getTime() <= now) return
      const stored = storedKey(key)
      const held = byKey.get(stored)
      if (held === undefined) byKey.set(stored, { until, indexes: [index] })
      else {
        held.indexes.push(index)
        if (until > held.until) held.until = until
      }
    })
    if (byKey.size === 0) return answers
    const keys = [...byKey.keys()].sort()
    const params: unknown[] = [new Date(now)]
    const rows = keys.map((key) => `($${params.push(key)}, $${params.push(byKey.get(key)!.until)}::timestamptz)`)
    let won: Set<string>
    try {
      const inserted = await this.db.query<{ key: string }>(
        `INSERT INTO attestation_claims (key, expires_at) VALUES ${rows.join(', ')}
         ON CONFLICT (key) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE attestation_claims.expires_at <= $1
         RETURNING key`,
        params,
      )
      won = new Set(inserted.map((row) => row.key))
    } catch (error) {
      // Data the database refused (SQLSTATE classes 21 and 22): one claim among many must not fail
      // the others. Each is claimed alone, and only the bad one fails.
      if (claims.length > 1 && isDataError(error)) return this.claimEach(claims)
      throw new ServiceUnavailableError('replay protection cannot be checked', 'replay_guard_unavailable', error)
    }
    for (const [key, { indexes }] of byKey) indexes.forEach((index, nth) => (answers[index] = nth === 0 && won.has(key)))
    return answers
  }

  /**
   * One at a time, each failing alone. A claim whose data the database refuses is answered as a
   * replay would be, not first (it can never be stored); any other failure fails the batch (503).
   */
  private async claimEach(claims: ReadonlyArray<{ key: string; until: Date }>): Promise<boolean[]> {
    const answers: boolean[] = []
    for (const { key, until } of claims) {
      answers.push(
        await this.claim(key, until).catch((error: unknown) => {
          if (isDataError((error as Error).cause)) return false
          throw error
        }),
      )
    }
    return answers
  }

  /**
   * Deletes claims whose attestations have expired, in bounded batches; returns how many. One run at a
   * time: a timed run that finds one in progress shares it.
   *
   * @example
   * const removed = await guard.prune()
   */
  prune(): Promise<number> {
    this.pruning ??= this.pruneBatches().finally(() => {
      this.pruning = undefined
    })
    return this.pruning
  }

  private async pruneBatches(): Promise<number> {
    const { pruneBatchSize, pruneMaxBatches } = this.options
    let removed = 0
    try {
      for (let batch = 0; batch < pruneMaxBatches; batch++) {
        const rows = await this.db.query(
          `DELETE FROM attestation_claims WHERE key IN (
             SELECT key FROM attestation_claims WHERE expires_at <= $1 ORDER BY expires_at LIMIT $2
           ) RETURNING key`,
          [new Date(this.clock.now()), pruneBatchSize],
        )
        removed += rows.length
        if (rows.length < pruneBatchSize) break
      }
    } catch (error) {
      throw new ServiceUnavailableError('expired attestation claims cannot be pruned', 'replay_guard_unavailable', error)
    }
    return removed
  }

  async close(): Promise<void> {
    clearInterval(this.timer)
    await this.pruning?.catch(() => {})
  }
}

/** Postgres refused the data itself (SQLSTATE classes 21 and 22), not the connection or the table. */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('21'))
}

/**
 * The key as stored: as given when the database can hold it exactly; otherwise by digest (of its JSON,
 * which keeps every two strings apart, lone surrogates included). A key of control characters or lone
 * surrogates comes from whoever signed the attestation or proof: sent as it is, Postgres refuses a NUL
 * and folds lone surrogates together, which would fail a whole batch of claims (everyone's).
 */
function storedKey(key: string): string {
  if (key.length <= MAX_STORED_KEY && STORABLE.test(key)) return key
  return `${key.slice(0, 200).replace(UNSTORABLE, '?')}…sha256:${createHash('sha256').update(JSON.stringify(key)).digest('base64url')}`
}
