import type { Clock } from '../lib/clock.js'
import type { Grant } from './grant.js'
import type { GrantStore } from './grant-store.js'

/**
 * The grants the hot path matches against, read from the store at most once per `ttlMs`. Writes on
 * this instance invalidate it at once; writes on another instance are seen within `ttlMs`. If the
 * store cannot answer when a refresh is due, the exchange fails closed (the store's error propagates)
 * rather than granting from a stale copy.
 */
export class GrantCatalog {
  private grants: Grant[] = []
  private loadedAt = Number.NEGATIVE_INFINITY
  private inFlight: Promise<Grant[]> | undefined

  constructor(
    private readonly store: GrantStore,
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  async active(): Promise<Grant[]> {
    if (this.clock.now() - this.loadedAt < this.ttlMs) return this.grants
    this.inFlight ??= this.reload().finally(() => {
      this.inFlight = undefined
    })
    return this.inFlight
  }

  invalidate(): void {
    this.loadedAt = Number.NEGATIVE_INFINITY
  }

  private async reload(): Promise<Grant[]> {
    const startedAt = this.clock.now()
    const grants = await this.store.listActive(new Date(startedAt))
    this.grants = grants
    this.loadedAt = startedAt
    return grants
  }
}
