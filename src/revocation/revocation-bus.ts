import type { Clock } from '../lib/clock.js'
import type { RevocationBusListener } from './revocation-cache.js'
import type { RevocationLog } from './revocation-log.js'
import type { Revocation } from './revocation.js'

/**
 * How revocations reach every instance: a snapshot of all in force on (re)connect, then each change
 * as it is made. Redis for several instances; in-process for one.
 */
export interface RevocationBus {
  /** Resolves once the listener has its first snapshot; throws ServiceUnavailableError if it cannot. */
  start(listener: RevocationBusListener): Promise<void>
  /** Puts a revocation (or its lift) into the shared set and tells every instance, this one included. */
  publish(revocation: Revocation): Promise<void>
  /** How long the cache may go without contact before it fails closed. */
  readonly maxStalenessMs: number
  close(): Promise<void>
}

/**
 * One process, no Redis: the durable log is the whole truth and every change happens here, so the
 * copy can never go stale. Another instance would never hear of these changes; the service warns.
 */
export class LocalRevocationBus implements RevocationBus {
  readonly maxStalenessMs = Number.POSITIVE_INFINITY
  private listener: RevocationBusListener | undefined

  constructor(
    private readonly log: RevocationLog,
    private readonly clock: Clock,
  ) {}

  async start(listener: RevocationBusListener): Promise<void> {
    this.listener = listener
    listener.snapshot(await this.log.listInForce(new Date(this.clock.now())))
  }

  async publish(revocation: Revocation): Promise<void> {
    this.listener?.change(revocation)
  }

  async close(): Promise<void> {}
}
