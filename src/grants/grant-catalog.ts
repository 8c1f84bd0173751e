import type { Clock } from '../lib/clock.js'
import type { Grant } from './grant.js'
import { GrantIndex } from './grant-index.js'
import type { GrantStore } from './grant-store.js'

/**
 * The grants the hot path matches against, read from the store at most once per `ttlMs` and indexed
 * by subject (grant-index.ts), so an exchange looks only at the grants that can match its identity. Writes on
 * this instance invalidate it at once; writes on another instance are seen within `ttlMs`. If the
 * store cannot answer when a refresh is due, the exchange fails closed (the store's error propagates)
 * rather than granting from a stale copy.
 */
export class GrantCatalog {
  private index = new GrantIndex([])
  private loadedAt = Number.NEGATIVE_INFINITY
  private inFlight: Promise<GrantIndex> | undefined

  constructor(
    private readonly store: GrantStore,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  /** The active grants whose subject could match `subject`: a superset of those that do, in the store's order. */
  async candidatesFor(subject: string): Promise<Grant[]> {
    return (await this.current()).candidates(subject)
  }

  private async current(): Promise<GrantIndex> {
    if (this.clock.now() - this.loadedAt < this.ttlMs) return this.index
    this.inFlight ??= this.reload().finally(() => {
      this.inFlight = undefined
    })
    return this.inFlight
  }

  invalidate(): void {
    this.loadedAt = Number.NEGATIVE_INFINITY
  }

  private async reload(): Promise<GrantIndex> {
    const startedAt = this.clock.now()
    const index = new GrantIndex(await this.store.listActive(new Date(startedAt)))
    this.index = index
    this.loadedAt = startedAt
    return index
  }
}
