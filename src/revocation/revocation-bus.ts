import type { Clock } from '../lib/clock.js'
import type { RevocationBusListener } from './revocation-cache.js'
import type { RevocationLog } from './revocation-log.js'
import type { Revocation } from './revocation.js'

/** What a publication returns, to wait on: its position in the order of publications, if the bus has one. */
export interface PublishReceipt {
  version?: string
}

/**
 * How revocations reach every instance: a snapshot of all in force on (re)connect, then each change
 * as it is made. Redis for several instances; in-process for one.
 */
export interface RevocationBus {
  /** Resolves once the listener has its first snapshot; throws ServiceUnavailableError if it cannot. */
  start(listener: RevocationBusListener): Promise<void>
  /**
   * Puts a revocation (or its lift) into the shared set and tells every instance; this one applies it
   * before this resolves.
   */
  publish(revocation: Revocation): Promise<PublishReceipt>
  /**
   * Resolves once every other live instance has applied the publication, or after `maxStalenessMs`
   * (an instance silent that long has failed closed), naming those that stayed silent. Never throws.
   */
  awaitApplied(receipt: PublishReceipt): Promise<{ silent: string[] }>
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

  async publish(revocation: Revocation): Promise<PublishReceipt> {
    this.listener?.change(revocation)
    return {}
  }

  async awaitApplied(): Promise<{ silent: string[] }> {
    return { silent: [] }
  }

  async close(): Promise<void> {}
}
