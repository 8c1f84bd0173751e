import { ServiceUnavailableError } from '../errors.js'
import type { Clock } from '../lib/clock.js'
import { globMatches, isGlob } from '../lib/glob.js'
import { GlobIndex } from '@seed-sts/client/glob'
import { inForce, type Revocation, type RevocationTarget } from './revocation.js'

/** What the hot path asks: is any of these revoked? */
export interface RevocationChecker {
  /**
   * The revocation in force against one of `targets`, or undefined. Throws ServiceUnavailableError
   * when this instance cannot vouch for its copy of the revocations: never "not revoked" by default.
   */
  findRevoked(targets: RevocationTarget[]): Promise<Revocation | undefined>
}

/** Where the cache hears from: a snapshot after each (re)connect, then each change. */
export interface RevocationBusListener {
  /**
   * The whole set in force, complete up to the durable position `completeUpTo` when the bus knows it.
   * A change this instance holds from after that position (its own, applied before the snapshot was
   * read) is kept; without a position the snapshot replaces everything.
   */
  snapshot(revocations: Revocation[], completeUpTo?: bigint): void
  change(revocation: Revocation): void
  /** The backend answered just now (a heartbeat, a message). */
  contact(): void
  /** The copy can no longer be vouched for (the subscription dropped): fail closed until the next snapshot. */
  lost(reason: string): void
  /** The highest durable position applied: what reconciliation compares with the durable log. */
  highestSeq(): bigint
}

/** Lifted revocations remembered so a late duplicate of an older change is ignored; the oldest are forgotten. */
const MAX_TOMBSTONES = 10_000

/**
 * This instance's copy of every revocation in force, kept current by the revocation bus, so the check
 * on the hot path costs no round trip. If the bus has not been heard from for longer than
 * `maxStalenessMs`, or has said its subscription dropped, the copy may be missing a revocation: every
 * check fails closed until it is current.
 */
export class RevocationCache implements RevocationChecker, RevocationBusListener {
  /** Every revocation held, by id; expired ones are dropped when they expire. */
  private entries = new Map<string, Revocation>()
  private exact = new Map<string, Revocation>()
  /** Subject-glob revocations by their literal part: a check reads only those that could match its subject. */
  private readonly subjectGlobs = new GlobIndex<Revocation>()
  /** The position of the last lift seen of a revocation, in the order seen; bounded. */
  private readonly tombstones = new Map<string, bigint>()
  private applied = 0n
  /** The earliest expiry among the entries: when the next sweep is due. */
  private nextExpiry = Number.POSITIVE_INFINITY
  private lastContact = Number.NEGATIVE_INFINITY
  private loaded = false
  private suspended: string | undefined
  private readonly watchers = new Set<(seq?: bigint) => void>()

  /**
   * `clock` is wall time (when revocations expire); `monotonic` measures how long since contact, and
   * must not jump when the wall clock does.
   */
  constructor(
    private readonly clock: Clock,
    private readonly maxStalenessMs: number,
    private readonly monotonic: () => number = () => performance.now(),
  ) {}

  async findRevoked(targets: RevocationTarget[]): Promise<Revocation | undefined> {
    this.ensureCurrent()
    const now = this.clock.now()
    if (now >= this.nextExpiry) this.dropExpired(now)
    for (const target of targets) {
      const revocation = this.exact.get(keyOf(target))
      if (revocation && inForce(revocation, now)) return revocation
      if (target.kind === 'subject') {
        for (const glob of this.subjectGlobs.candidates(target.value)) {
          if (inForce(glob, now) && globMatches(glob.value, target.value)) return glob
        }
      }
    }
    return undefined
  }

  /**
   * Calls `wake` after every change (with its position) or reload, so streams can read what is new
   * from the durable log. A wake-up carries no revocation on purpose: the log, not the message, is
   * what streams must not miss.
   */
  watch(wake: (seq?: bigint) => void): () => void {
    this.watchers.add(wake)
    return () => this.watchers.delete(wake)
  }

  /** True once the first snapshot is in, the subscription holds and contact is recent. */
  isCurrent(): boolean {
    return this.loaded && this.suspended === undefined && this.monotonic() - this.lastContact <= this.maxStalenessMs
  }

  /** How many revocations are held in memory (in force or not yet swept) and lifts remembered. */
  size(): { revocations: number; tombstones: number } {
    return { revocations: this.entries.size, tombstones: this.tombstones.size }
  }

  highestSeq(): bigint {
    return this.applied
  }

  /**
   * Seconds since the revocation store was last heard from: how much this copy may be missing. 0 where
   * the store is this process (the local bus misses nothing); undefined before the first snapshot.
   */
  stateAgeSeconds(): number | undefined {
    if (!this.loaded) return undefined
    if (this.maxStalenessMs === Number.POSITIVE_INFINITY) return 0
    return (this.monotonic() - this.lastContact) / 1000
  }

  snapshot(revocations: Revocation[], completeUpTo?: bigint): void {
    const now = this.clock.now()
    const entries = new Map<string, Revocation>()
    for (const revocation of revocations) {
      if ((this.tombstones.get(revocation.id) ?? -1n) >= revocation.seq) continue
      if (inForce(revocation, now)) entries.set(revocation.id, revocation)
    }
    // Applied here after the snapshot was read (this instance's own changes): the snapshot cannot know them.
    if (completeUpTo !== undefined) {
      for (const held of this.entries.values()) {
        if (held.seq > completeUpTo && (entries.get(held.id)?.seq ?? -1n) < held.seq && inForce(held, now)) entries.set(held.id, held)
      }
      for (const [id, seq] of this.tombstones) {
        if (seq > completeUpTo && (entries.get(id)?.seq ?? -1n) < seq) entries.delete(id)
      }
    }
    this.entries = entries
    this.reindex()
    if (completeUpTo !== undefined && completeUpTo > this.applied) this.applied = completeUpTo
    for (const revocation of entries.values()) if (revocation.seq > this.applied) this.applied = revocation.seq
    this.loaded = true
    this.suspended = undefined
    this.contact()
    this.wake()
  }

  change(revocation: Revocation): void {
    const prior = this.entries.get(revocation.id)?.seq ?? this.tombstones.get(revocation.id) ?? -1n
    if (prior >= revocation.seq) return
    if (revocation.seq > this.applied) this.applied = revocation.seq
    const key = keyOf(revocation)
    if (this.exact.get(key)?.id === revocation.id) this.exact.delete(key)
    this.subjectGlobs.delete(revocation.id)
    this.entries.delete(revocation.id)
    if (revocation.liftedAt !== null) {
      this.tombstones.delete(revocation.id)
      this.tombstones.set(revocation.id, revocation.seq)
      if (this.tombstones.size > MAX_TOMBSTONES) this.tombstones.delete(this.tombstones.keys().next().value!)
    } else if (inForce(revocation, this.clock.now())) {
      this.entries.set(revocation.id, revocation)
      this.index(revocation)
    }
    this.wake(revocation.seq)
  }

  contact(): void {
    this.lastContact = this.monotonic()
    if (this.clock.now() >= this.nextExpiry) this.dropExpired()
  }

  lost(reason: string): void {
    this.suspended = reason
  }

  /** Forgets the revocations that have expired: they cannot matter again (an expired token stays expired). */
  dropExpired(now = this.clock.now()): void {
    let removed = false
    for (const [id, revocation] of this.entries) {
      if (!inForce(revocation, now)) {
        this.entries.delete(id)
        removed = true
      }
    }
    if (removed) this.reindex()
    else this.nextExpiry = earliestExpiry(this.entries.values())
  }

  private reindex(): void {
    this.exact = new Map()
    this.subjectGlobs.clear()
    for (const revocation of this.entries.values()) this.index(revocation)
    this.nextExpiry = earliestExpiry(this.entries.values())
  }

  private index(revocation: Revocation): void {
    if (revocation.kind === 'subject' && isGlob(revocation.value)) this.subjectGlobs.set(revocation.id, revocation.value, revocation)
    else this.exact.set(keyOf(revocation), revocation)
    if (revocation.expiresAt) this.nextExpiry = Math.min(this.nextExpiry, revocation.expiresAt.getTime())
  }

  private wake(seq?: bigint): void {
    for (const wake of this.watchers) wake(seq)
  }

  private ensureCurrent(): void {
    if (!this.loaded) throw new ServiceUnavailableError('revocation state is not loaded yet', 'revocations_unavailable')
    if (this.suspended !== undefined)
      throw new ServiceUnavailableError(`revocation state cannot be checked: ${this.suspended}`, 'revocations_unavailable')
    const silent = this.monotonic() - this.lastContact
    if (silent > this.maxStalenessMs) {
      throw new ServiceUnavailableError(
        `revocation state cannot be checked: no word from the revocation store for ${(silent / 1000).toFixed(1)} s`,
        'revocations_unavailable',
      )
    }
  }
}

function earliestExpiry(revocations: Iterable<Revocation>): number {
  let earliest = Number.POSITIVE_INFINITY
  for (const revocation of revocations) if (revocation.expiresAt) earliest = Math.min(earliest, revocation.expiresAt.getTime())
  return earliest
}

function keyOf(target: RevocationTarget): string {
  return `${target.kind}:${target.value}`
}
