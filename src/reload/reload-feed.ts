/**
 * How an instance asks every other instance to reload its configuration (POST /v1/admin/reload), so
 * the one behind the load balancer is not the only one to. A sibling of the grant change feed
 * (src/grants/grant-feed.ts), on the same Redis: Redis for several instances; for one, nobody else.
 */
export interface ReloadFeed {
  /**
   * Calls `asked` for every reload another instance asks for, and once after a reconnection if one
   * was asked for meanwhile. Resolves once listening; throws ServiceUnavailableError if it cannot be.
   */
  start(asked: () => void): Promise<void>
  /** Asks every other instance; `alone` when there is none to ask. Rejects when they cannot be asked. */
  publish(): Promise<'asked' | 'alone'>
  close(): Promise<void>
}

/** One process, no Redis: there is no other instance to ask (several need REDIS_URL, as for grants). */
export class LocalReloadFeed implements ReloadFeed {
  async start(): Promise<void> {}

  async publish(): Promise<'alone'> {
    return 'alone'
  }

  async close(): Promise<void> {}
}
