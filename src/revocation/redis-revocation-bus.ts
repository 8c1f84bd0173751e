import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { ServiceUnavailableError } from '../errors.js'
import type { Clock } from '../lib/clock.js'
import type { RevocationBus } from './revocation-bus.js'
import type { RevocationBusListener } from './revocation-cache.js'
import type { RevocationLog } from './revocation-log.js'
import { inForce, revocationFromJson, revocationToJson, type Revocation } from './revocation.js'

export interface RedisRevocationBusOptions {
  url: string
  keyPrefix: string
  commandTimeoutMs: number
  /** How often the subscription is pinged; each answer is contact. */
  heartbeatMs: number
  /** Out of touch longer than this, the instance fails closed until it has caught up. */
  maxStalenessMs: number
}

/**
 * Revocations in Redis: a hash of those in force (the working set every instance loads on
 * (re)connect) and a channel every change is published on. Redis may lose everything (a restart
 * without persistence): a missing `ready` marker means the hash must be rebuilt from the durable log
 * in Postgres, which one instance does under a lock while the others wait for the marker.
 */
export class RedisRevocationBus implements RevocationBus {
  readonly maxStalenessMs: number
  private readonly client: Redis
  private readonly subscriber: Redis
  private readonly keys: { set: string; ready: string; lock: string; channel: string }
  private listener: RevocationBusListener | undefined
  private buffered: Revocation[] | undefined
  private heartbeat: NodeJS.Timeout | undefined
  /** The loaded set matches Redis: false from a lost connection until the next full load. */
  private synchronised = false
  private firstSnapshot: { resolve: () => void; reject: (error: unknown) => void } | undefined

  constructor(
    private readonly options: RedisRevocationBusOptions,
    private readonly log: RevocationLog,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.maxStalenessMs = options.maxStalenessMs
    const p = options.keyPrefix
    // The marker names the last migration that rewrote revocations (007 lower-cased GitHub names): an
    // instance that finds none rebuilds the set from Postgres, so no value of before stays in force.
    this.keys = { set: `${p}revocations`, ready: `${p}revocations:ready:007`, lock: `${p}revocations:rebuild`, channel: `${p}revocations:changes` }
    const connection = {
      commandTimeout: options.commandTimeoutMs,
      // Never queue while disconnected: a write during an outage fails at once, and so closed.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt: number) => Math.min(attempt * 100, 1000),
    }
    this.client = new Redis(options.url, connection)
    this.subscriber = new Redis(options.url, { ...connection, autoResubscribe: false })
    // Connection errors surface through failed commands and missed heartbeats; the clients reconnect.
    this.client.on('error', () => {})
    this.subscriber.on('error', () => {})
    this.subscriber.on('message', (_channel: string, message: string) => this.receive(message))
    this.subscriber.on('ready', () => void this.resynchronise())
    this.subscriber.on('close', () => {
      if (this.synchronised) this.logger.warn('lost the connection to Redis: revocations are served from memory until it is back or they go stale')
      this.synchronised = false
    })
  }

  start(listener: RevocationBusListener): Promise<void> {
    this.listener = listener
    this.heartbeat = setInterval(() => void this.beat(), this.options.heartbeatMs)
    this.heartbeat.unref()
    const first = new Promise<void>((resolve, reject) => (this.firstSnapshot = { resolve, reject }))
    if (this.subscriber.status === 'ready') void this.resynchronise()
    const timeout = setTimeout(
      () => this.firstSnapshot?.reject(new ServiceUnavailableError(`the revocation store (Redis) is not reachable (status ${this.subscriber.status})`)),
      5000,
    )
    return first.finally(() => clearTimeout(timeout))
  }

  async publish(revocation: Revocation): Promise<void> {
    const json = JSON.stringify(revocationToJson(revocation))
    const transaction = this.client.multi()
    if (revocation.liftedAt === null) transaction.hset(this.keys.set, revocation.id, json)
    else transaction.hdel(this.keys.set, revocation.id)
    transaction.publish(this.keys.channel, json)
    try {
      const results = await transaction.exec()
      const failed = results?.find(([error]) => error)
      if (!results || failed) throw failed?.[0] ?? new Error('transaction discarded')
    } catch (error) {
      throw new ServiceUnavailableError('the revocation store (Redis) cannot be written', error)
    }
  }

  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat)
    this.client.disconnect()
    this.subscriber.disconnect()
  }

  /** After every (re)connect: listen first, then load the whole set, then replay what came meanwhile. */
  private async resynchronise(): Promise<void> {
    this.buffered = []
    try {
      await this.subscriber.subscribe(this.keys.channel)
      const revocations = await this.loadSet()
      this.listener?.snapshot(revocations)
      for (const change of this.buffered) this.listener?.change(change)
      this.buffered = undefined
      this.synchronised = true
      this.logger.info({ revocations: revocations.length }, 'revocations loaded from Redis')
      this.firstSnapshot?.resolve()
    } catch (error) {
      this.buffered = undefined
      this.logger.error({ err: { message: (error as Error).message } }, 'cannot load the revocations from Redis; retrying')
      setTimeout(() => {
        if (this.subscriber.status === 'ready') void this.resynchronise()
      }, 500).unref()
    }
  }

  private async loadSet(): Promise<Revocation[]> {
    if ((await this.client.get(this.keys.ready)) === null) await this.rebuild()
    const now = this.clock.now()
    const all = Object.values(await this.client.hgetall(this.keys.set)).map((json) => revocationFromJson(JSON.parse(json)))
    const stale = all.filter((r) => !inForce(r, now)).map((r) => r.id)
    if (stale.length > 0) await this.client.hdel(this.keys.set, ...stale)
    return all.filter((r) => inForce(r, now))
  }

  /** Redis came back empty: refill it from Postgres. One instance does it; the others wait. */
  private async rebuild(): Promise<void> {
    const token = randomUUID()
    if ((await this.client.set(this.keys.lock, token, 'PX', 15_000, 'NX')) === 'OK') {
      const revocations = await this.log.listInForce(new Date(this.clock.now()))
      // No DEL first: a revocation published while this runs must not be wiped out. The hash and the
      // ready marker go in one transaction, so whoever sees the marker sees every revocation.
      const transaction = this.client.multi()
      if (revocations.length > 0) {
        transaction.hset(this.keys.set, Object.fromEntries(revocations.map((r) => [r.id, JSON.stringify(revocationToJson(r))])))
      }
      transaction.set(this.keys.ready, new Date(this.clock.now()).toISOString())
      const results = await transaction.exec()
      const failed = results?.find(([error]) => error)
      if (!results || failed) throw failed?.[0] ?? new Error('the rebuild transaction was discarded')
      await this.client.del(this.keys.lock)
      this.logger.warn({ revocations: revocations.length }, 'Redis had no revocations: rebuilt them from Postgres')
      return
    }
    for (let waited = 0; waited < 15_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      if ((await this.client.get(this.keys.ready)) !== null) return
    }
    throw new Error('another instance is rebuilding the revocations in Redis and has not finished')
  }

  private receive(message: string): void {
    let revocation: Revocation
    try {
      revocation = revocationFromJson(JSON.parse(message))
    } catch {
      this.logger.error('ignored a malformed message on the revocation channel')
      return
    }
    this.listener?.contact()
    if (this.buffered) this.buffered.push(revocation)
    else this.listener?.change(revocation)
  }

  private async beat(): Promise<void> {
    // Contact only counts once the set is loaded and the subscription carries changes.
    if (!this.synchronised) return
    try {
      await this.subscriber.ping()
      this.listener?.contact()
    } catch {
      // Missed: the staleness bound decides when this matters.
    }
  }
}
