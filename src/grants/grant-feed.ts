/**
 * How every instance hears that grants changed: a wake-up, never the change itself. The durable
 * sequence in the database is what an instance must not miss (src/grants/grant-catalog.ts reads
 * every change after its last position), so a lost message only delays a change until the next
 * catch-up; it never loses one. Redis for several instances; in-process for one.
 */
export interface GrantFeed {
  /**
   * Calls `wake` with the position of each change published (by any instance), and without one after
   * each (re)connection, when messages may have been missed. Resolves once listening; throws
   * ServiceUnavailableError if it cannot be.
   */
  start(wake: (seq?: bigint) => void): Promise<void>
  /** Tells every instance that changes up to `seq` are committed (without `seq`: that something changed). */
  publish(seq?: bigint): Promise<void>
  close(): Promise<void>
}

/**
 * One process, no Redis: every change is made here, and applied here before it is published, so the
 * feed only has itself to tell. Another instance would hear of changes at its next periodic catch-up.
 */
export class LocalGrantFeed implements GrantFeed {
  private wake: ((seq?: bigint) => void) | undefined

  async start(wake: (seq?: bigint) => void): Promise<void> {
    this.wake = wake
  }

  async publish(seq?: bigint): Promise<void> {
    this.wake?.(seq)
  }

  async close(): Promise<void> {
    this.wake = undefined
  }
}
