import type { Logger } from 'pino'
import { ServiceUnavailableError } from '../errors.js'
import type { Clock } from '../lib/clock.js'
import type { GrantFeed } from './grant-feed.js'
import { GrantIndex } from './grant-index.js'
import { GrantRule } from './grant-rule.js'
import type { GrantChange, GrantStore } from './grant-store.js'

export interface GrantCatalogOptions {
  /** How often changes are read whatever the feed says: the safety net for lost messages, and proof of contact. */
  catchUpIntervalMs: number
  /** Without a successful read of the changes for longer than this, the hot path fails closed. */
  maxStalenessMs: number
  /** Grants read per query while loading at start (default 2000). */
  loadPageSize?: number
  /** Measures time since the last contact; must not jump when the wall clock does. */
  monotonic?: () => number
  logger?: Logger
}

/** Changes read per query while catching up. */
const BATCH = 1000

/**
 * Grants read per query while loading. A page's rows and parsed grants are garbage before the next is
 * read: read in one query, 100,000 grants' rows were all held at once, and the process stayed about
 * 90 MB larger after the load than the grants it keeps.
 */
const LOAD_PAGE_SIZE = 10_000

/**
 * The grants the hot path matches against, each as the rule it needs (grant-rule.ts), indexed by
 * subject (grant-index.ts). Loaded once at start, a page at a time; from then on only what changed
 * is read: every grant write has a position in commit order
 * (migrations/010_grant_changes.sql), and a catch-up reads the changes after the last position applied.
 * A catch-up runs when the feed says something changed (any instance's write, published after its
 * commit), after each reconnection of the feed, every `catchUpIntervalMs`, and at once after a write
 * made through this instance, before its answer.
 *
 * Fail closed: if no catch-up has succeeded for longer than `maxStalenessMs` (the database cannot be
 * read), this copy may be missing a disable, and every exchange is refused (`grants_stale`) until a
 * catch-up succeeds again. A grant that expires between changes stops applying on its own: the
 * matcher checks `expiresAt` on every exchange.
 */
export class GrantCatalog {
  private readonly index = new GrantIndex()
  private position = 0n
  private loaded = false
  private lastContact = Number.NEGATIVE_INFINITY
  private failing = false
  private running: Promise<void> | undefined
  private queued: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined
  private readonly monotonic: () => number

  constructor(
    private readonly store: GrantStore,
    private readonly feed: GrantFeed,
    private readonly clock: Clock,
    private readonly options: GrantCatalogOptions,
  ) {
    this.monotonic = options.monotonic ?? (() => performance.now())
  }

  /** Listens to the feed, then loads every active grant; throws (ServiceUnavailableError) if either cannot be done. */
  async start(): Promise<void> {
    await this.feed.start((seq) => this.heard(seq))
    const askedAt = this.monotonic()
    // The position first: a change committed during the load is read again by the catch-up below.
    // The pages are read one statement each, so not from one snapshot; that is safe for the same
    // reason: a grant unchanged since the position is in exactly one page (creation order never
    // changes), and any other is applied again, as it now stands, by the catch-up.
    const position = await this.store.lastSeq()
    const now = new Date(this.clock.now())
    let cursor: string | undefined
    do {
      const page = await this.store.listActive(now, { cursor, limit: this.options.loadPageSize ?? LOAD_PAGE_SIZE })
      for (const grant of page.items) this.index.upsert(GrantRule.of(grant))
      cursor = page.nextCursor
    } while (cursor !== undefined)
    this.position = position
    this.loaded = true
    this.lastContact = askedAt
    await this.catchUp()
    this.timer = setInterval(() => void this.catchUp().catch(() => {}), this.options.catchUpIntervalMs)
    this.timer.unref()
  }

  /**
   * The active grants whose subject could match `subject`: a superset of those that do, in no
   * particular order. Throws ServiceUnavailableError when this copy cannot be vouched for.
   */
  async candidatesFor(subject: string): Promise<GrantRule[]> {
    this.ensureCurrent()
    return this.index.candidates(subject)
  }

  /**
   * The active grant with this id as the hot path holds it: undefined when there is none, or it is
   * disabled or expired at the clock's now (a grant expires between changes without leaving the index).
   * Throws ServiceUnavailableError when this copy cannot be vouched for, as candidatesFor does.
   */
  activeGrant(id: string): GrantRule | undefined {
    this.ensureCurrent()
    const rule = this.index.get(id)
    return rule !== undefined && rule.enabled && rule.expiresAtMs > this.clock.now() ? rule : undefined
  }

  /** True once loaded and a catch-up succeeded within the staleness bound. */
  isCurrent(): boolean {
    return this.loaded && this.monotonic() - this.lastContact <= this.options.maxStalenessMs
  }

  /** Seconds since a catch-up last read the grant changes; undefined before the first load. */
  stateAgeSeconds(): number | undefined {
    return this.loaded ? (this.monotonic() - this.lastContact) / 1000 : undefined
  }

  /** How many grants are held, and the position of the last change applied. */
  state(): { grants: number; position: bigint } {
    return { grants: this.index.size, position: this.position }
  }

  /**
   * After a write through this instance (committed): applies it here before the caller answers, then
   * tells every other instance. The write is made either way: a failure is logged, and the periodic
   * catch-up (here and elsewhere) brings it within `catchUpIntervalMs`.
   */
  async announceChange(): Promise<void> {
    let applied = true
    await this.catchUp().catch(() => (applied = false))
    // Without it applied here the position is not the change's: wake everyone rather than name one.
    await this.feed.publish(applied ? this.position : undefined).catch((error: unknown) => {
      this.options.logger?.warn(
        { err: { message: (error as Error).message } },
        'a grant change could not be announced; other instances see it at their next periodic catch-up',
      )
    })
  }

  /**
   * Reads and applies every change after the last position applied. One read at a time: a call made
   * during a read gets one more read after it, which sees what the call was about.
   */
  catchUp(): Promise<void> {
    if (this.running === undefined) {
      this.running = this.readChanges().finally(() => (this.running = undefined))
      return this.running
    }
    this.queued ??= this.running
      .catch(() => {})
      .then(() => {
        this.queued = undefined
        return this.catchUp()
      })
    return this.queued
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    await this.feed.close()
  }

  private heard(seq?: bigint): void {
    if (!this.loaded || (seq !== undefined && seq <= this.position)) return
    void this.catchUp().catch(() => {})
  }

  private async readChanges(): Promise<void> {
    if (!this.loaded) return
    try {
      for (;;) {
        const askedAt = this.monotonic()
        const changes = await this.store.changesSince(this.position, BATCH)
        const now = this.clock.now()
        for (const change of changes) this.apply(change, now)
        this.position = changes.at(-1)?.seq ?? this.position
        if (changes.length < BATCH) {
          // Current as of when the last read was asked.
          this.lastContact = askedAt
          break
        }
      }
      if (this.failing) this.options.logger?.info('grant changes can be read again')
      this.failing = false
    } catch (error) {
      if (!this.failing) {
        this.options.logger?.warn(
          { err: { message: (error as Error).message } },
          'grant changes cannot be read; exchanges fail closed once the staleness bound has passed',
        )
      }
      this.failing = true
      throw error
    }
  }

  /** A grant that is disabled, expired or deleted leaves the index; any other is filed as it now stands. */
  private apply(change: GrantChange, now: number): void {
    const grant = change.grant
    if (grant !== undefined && grant.enabled && grant.expiresAt.getTime() > now) this.index.upsert(GrantRule.of(grant))
    else this.index.remove(change.id)
  }

  private ensureCurrent(): void {
    if (!this.loaded) throw new ServiceUnavailableError('the grants are not loaded yet', 'grants_stale')
    const silent = this.monotonic() - this.lastContact
    if (silent > this.options.maxStalenessMs) {
      throw new ServiceUnavailableError(
        `the grants cannot be vouched for: no change read from the grant store for ${(silent / 1000).toFixed(1)} s`,
        'grants_stale',
      )
    }
  }
}
