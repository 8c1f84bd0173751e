import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { ServiceUnavailableError } from '../errors.js'
import type { Clock } from '../lib/clock.js'
import { openRedis, openRedisSubscriber, type RedisClient, type RedisConnectionOptions } from '../lib/redis-connection.js'
import type { PublishReceipt, RevocationBus } from './revocation-bus.js'
import type { RevocationBusListener } from './revocation-cache.js'
import type { RevocationLog } from './revocation-log.js'
import { revocationKeys, type RevocationBusKeys } from './redis-revocation-keys.js'
import { rebuildRevocationSet } from './redis-revocation-rebuild.js'
import { SCRIPTS, SEQ_FIELD, VERSION_FIELD } from './redis-revocation-scripts.js'
import { inForce, revocationFromJson, revocationToJson, type Revocation } from './revocation.js'

export type RedisRevocationBusOptions = RedisConnectionOptions & {
  keyPrefix: string
  /** How often the subscription is pinged and the set reconciled with the durable log; each success is contact. */
  heartbeatMs: number
  /** Out of touch longer than this, the instance fails closed until it has caught up. */
  maxStalenessMs: number
}

/**
 * Revocations in Redis: a hash of those in force (the working set every instance loads on
 * (re)connect) and a channel every change is published on. The hash vouches for itself with a marker
 * inside it (see redis-revocation-scripts.ts): a hash lost, emptied or restored from an older snapshot
 * is found behind the durable log in Postgres at the next load or heartbeat and rebuilt from it.
 *
 * An instance whose subscription drops refuses to issue from that moment until it has reloaded. Each
 * instance acknowledges every change it applied (and beats) through Redis, so the instance that
 * publishes a change can wait until every live instance has it before the API answers.
 */
export class RedisRevocationBus implements RevocationBus {
  readonly maxStalenessMs: number
  readonly instanceId = randomUUID()
  private readonly client: RedisClient
  private readonly subscriber: Redis
  private readonly keys: RevocationBusKeys
  private listener: RevocationBusListener | undefined
  private buffered: { version: string; revocation: Revocation }[] | undefined
  private heartbeat: NodeJS.Timeout | undefined
  /** The loaded set matches Redis: false from a lost connection until the next full load. */
  private synchronised = false
  private resynchronising = false
  /** Counts dropped subscriptions: a reload that saw one happen meanwhile does not count. */
  private drops = 0
  private reloadAgain = false
  /** Set by close(): the subscription ending then is the shutdown, not an outage to log and reload from. */
  private closing = false
  /** The last publication applied here (its version): what this instance acknowledges. */
  private appliedVersion = '0'
  /** A durable position this instance was found behind at the last heartbeat. */
  private behindAt: bigint | undefined
  private readonly ackWaiters = new Set<() => void>()
  private firstSnapshot: { resolve: () => void; reject: (error: unknown) => void } | undefined

  constructor(
    private readonly options: RedisRevocationBusOptions,
    private readonly log: RevocationLog,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.maxStalenessMs = options.maxStalenessMs
    this.keys = revocationKeys(options.keyPrefix)
    // Never queued while disconnected (src/lib/redis-connection.ts): a write during an outage fails at once, and so closed.
    this.client = openRedis(options, { purpose: 'revocations' })
    // Resubscribing is resynchronise's job: it reloads the set after every (re)connect.
    this.subscriber = openRedisSubscriber(options, { purpose: 'revocation_feed' })
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.keys.ackChannel) for (const wake of this.ackWaiters) wake()
      else this.receive(message)
    })
    this.subscriber.on('ready', () => void this.resynchronise())
    this.subscriber.on('close', () => {
      this.drops++
      if (this.closing) return
      this.lose('the subscription to the revocation store (Redis) dropped; reloading')
    })
  }

  start(listener: RevocationBusListener): Promise<void> {
    this.listener = listener
    this.heartbeat = setInterval(() => void this.beat(), this.options.heartbeatMs)
    this.heartbeat.unref()
    const first = new Promise<void>((resolve, reject) => (this.firstSnapshot = { resolve, reject }))
    if (this.subscriber.status === 'ready') void this.resynchronise()
    const timeout = setTimeout(
      () =>
        this.firstSnapshot?.reject(
          new ServiceUnavailableError(
            `the revocation store (Redis) is not reachable (status ${this.subscriber.status})`,
            'revocations_unavailable',
          ),
        ),
      5000,
    )
    return first.finally(() => clearTimeout(timeout))
  }

  /** Into the hash and onto the channel in one script; then into this instance's own copy at once. */
  async publish(revocation: Revocation): Promise<PublishReceipt> {
    const json = JSON.stringify(revocationToJson(revocation))
    const args = [
      revocation.id,
      json,
      String(revocation.seq),
      revocation.expiresAt?.getTime() ?? '',
      revocation.liftedAt === null ? '0' : '1',
    ]
    const keys = [this.keys.set, this.keys.expiry, this.keys.channel]
    let version: unknown
    try {
      version = await SCRIPTS.publish.run(this.client, keys, args).catch(async (error: unknown) => {
        if (!(error as Error).message.startsWith('NOTREADY')) throw error
        // The set lost its marker: whatever is in it cannot be vouched for. Rebuild, then publish.
        await rebuildRevocationSet(this.client, this.keys, this.log, this.clock, this.logger)
        return SCRIPTS.publish.run(this.client, keys, args)
      })
    } catch (error) {
      throw new ServiceUnavailableError('the revocation store (Redis) cannot be written', 'revocations_unavailable', error)
    }
    this.listener?.change(revocation)
    return { version: String(version) }
  }

  /**
   * Resolves once every instance with a current heartbeat has acknowledged `receipt`, or after
   * `maxStalenessMs`: an instance silent that long has failed closed. Never throws: the change is made.
   */
  async awaitApplied(receipt: PublishReceipt): Promise<{ silent: string[] }> {
    const deadline = performance.now() + this.maxStalenessMs
    let behind: string[] = []
    for (;;) {
      const woken = new Promise<void>((resolve) => {
        const wake = () => {
          this.ackWaiters.delete(wake)
          resolve()
        }
        this.ackWaiters.add(wake)
        setTimeout(wake, Math.min(100, Math.max(0, deadline - performance.now()))).unref()
      })
      try {
        const answer = (await SCRIPTS.behind.run(
          this.client,
          [this.keys.instances, this.keys.acks],
          [receipt.version ?? '0', this.maxStalenessMs],
        )) as string[]
        behind = answer.filter((id) => id !== this.instanceId)
      } catch {
        // Redis cannot tell who has it: wait out the bound, after which the silent have failed closed.
        behind = ['(unknown: Redis did not answer)']
      }
      if (behind.length === 0 || performance.now() >= deadline) return { silent: behind }
      await woken
    }
  }

  async close(): Promise<void> {
    this.closing = true
    this.synchronised = false
    this.listener?.lost('the revocation store connection is closing')
    if (this.heartbeat) clearInterval(this.heartbeat)
    for (const wake of this.ackWaiters) wake()
    await this.client.zrem(this.keys.instances, this.instanceId).catch(() => {})
    this.client.disconnect()
    this.subscriber.disconnect()
  }

  private lose(reason: string): void {
    if (this.synchronised) this.logger.warn(reason)
    this.synchronised = false
    this.listener?.lost(reason)
  }

  /** After every (re)connect: listen first, then load the whole set, then replay what came meanwhile. */
  private async resynchronise(): Promise<void> {
    if (this.resynchronising) {
      this.reloadAgain = true
      return
    }
    this.resynchronising = true
    this.reloadAgain = false
    const drops = this.drops
    this.buffered = []
    try {
      await this.subscriber.subscribe(this.keys.channel, this.keys.ackChannel)
      const { revocations, seq, version } = await this.loadSet()
      if (drops !== this.drops) throw new Error('the subscription dropped while the set was loading')
      this.listener?.snapshot(revocations, seq)
      this.appliedVersion = version
      for (const change of this.buffered) this.apply(change.version, change.revocation)
      this.buffered = undefined
      this.synchronised = true
      this.behindAt = undefined
      this.logger.info({ revocations: revocations.length }, 'revocations loaded from Redis')
      this.firstSnapshot?.resolve()
      await this.acknowledge()
    } catch (error) {
      this.buffered = undefined
      this.logger.error({ err: { message: (error as Error).message } }, 'cannot load the revocations from Redis; retrying')
      setTimeout(() => {
        if (this.subscriber.status === 'ready') void this.resynchronise()
      }, 500).unref()
    } finally {
      this.resynchronising = false
      if (this.reloadAgain && this.subscriber.status === 'ready') void this.resynchronise()
    }
  }

  /** The set, once it vouches for everything the durable log holds; rebuilt from it when behind. */
  private async loadSet(): Promise<{ revocations: Revocation[]; seq: bigint; version: string }> {
    const durable = await this.log.lastSeq()
    let fields = await this.client.hgetall(this.keys.set)
    if (!vouchesFor(fields[SEQ_FIELD], durable)) {
      await rebuildRevocationSet(this.client, this.keys, this.log, this.clock, this.logger)
      fields = await this.client.hgetall(this.keys.set)
      if (!vouchesFor(fields[SEQ_FIELD], durable))
        throw new Error('the revocation set in Redis is still behind the durable log after a rebuild')
    }
    const now = this.clock.now()
    const all = Object.entries(fields)
      .filter(([id]) => !id.startsWith('~'))
      .map(([, json]) => revocationFromJson(JSON.parse(json) as Parameters<typeof revocationFromJson>[0]))
    return { revocations: all.filter((r) => inForce(r, now)), seq: BigInt(fields[SEQ_FIELD]), version: fields[VERSION_FIELD] ?? '0' }
  }

  private receive(message: string): void {
    let change: { version: string; revocation: Revocation }
    try {
      const parsed = JSON.parse(message) as { v: string; r: Parameters<typeof revocationFromJson>[0] }
      change = { version: parsed.v, revocation: revocationFromJson(parsed.r) }
    } catch {
      this.logger.error('ignored a malformed message on the revocation channel')
      return
    }
    this.listener?.contact()
    if (this.buffered) this.buffered.push(change)
    else {
      this.apply(change.version, change.revocation)
      void this.acknowledge()
    }
  }

  private apply(version: string, revocation: Revocation): void {
    this.listener?.change(revocation)
    if (BigInt(version) > BigInt(this.appliedVersion)) this.appliedVersion = version
  }

  private async acknowledge(): Promise<void> {
    if (!this.synchronised) return
    const keys = [this.keys.instances, this.keys.acks, this.keys.ackChannel]
    await SCRIPTS.ack.run(this.client, keys, [this.instanceId, this.appliedVersion, 10 * this.maxStalenessMs]).catch(() => {})
  }

  /**
   * Contact only counts once the subscription answers and the set in Redis and in memory are found as
   * far along as the durable log. Behind twice running, this instance reloads (failing closed meanwhile).
   */
  private async beat(): Promise<void> {
    if (!this.synchronised) return
    try {
      await this.subscriber.ping()
      const durable = await this.log.lastSeq()
      const marker = await this.client.hget(this.keys.set, SEQ_FIELD)
      await SCRIPTS.sweep.run(this.client, [this.keys.set, this.keys.expiry], [this.clock.now()])
      if (!vouchesFor(marker ?? undefined, durable)) {
        this.lose(`the revocation set in Redis is behind the durable log (${marker ?? 'no marker'} < ${durable}); rebuilding`)
        void this.resynchronise()
        return
      }
      const applied = this.listener?.highestSeq() ?? 0n
      if (this.behindAt !== undefined && applied < this.behindAt) {
        this.lose(`this instance missed revocations (applied up to ${applied}, the log is at ${this.behindAt}); reloading`)
        void this.resynchronise()
        return
      }
      this.behindAt = applied < durable ? durable : undefined
      this.listener?.contact()
      await this.acknowledge()
    } catch {
      // Missed: the staleness bound decides when this matters.
    }
  }
}

function vouchesFor(marker: string | undefined, durable: bigint): boolean {
  return marker !== undefined && /^\d+$/.test(marker) && BigInt(marker) >= durable
}
