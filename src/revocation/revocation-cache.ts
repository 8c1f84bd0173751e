import { ServiceUnavailableError } from '../errors.js'
import type { Clock } from '../lib/clock.js'
import { globMatches, isGlob } from '../lib/glob.js'
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
  snapshot(revocations: Revocation[]): void
  change(revocation: Revocation): void
  /** The backend answered just now (a heartbeat, a message). */
  contact(): void
}

/**
 * This instance's copy of every revocation in force, kept current by the revocation bus, so the check
 * on the hot path costs no round trip. If the bus has not been heard from for longer than
 * `maxStalenessMs`, the copy may be missing a revocation: every check fails closed until it is current.
 */
export class RevocationCache implements RevocationChecker, RevocationBusListener {
  private exact = new Map<string, Revocation>()
  private subjectGlobs: Revocation[] = []
  /** The last change seen of every revocation, lifted ones included, so a late duplicate is ignored. */
  private readonly seen = new Map<string, number>()
  private lastContact = Number.NEGATIVE_INFINITY
  private loaded = false
  private readonly watchers = new Set<(seq?: number) => void>()

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
    for (const target of targets) {
      const revocation = this.exact.get(keyOf(target))
      if (revocation && inForce(revocation, now)) return revocation
      if (target.kind === 'subject') {
        const glob = this.subjectGlobs.find((r) => inForce(r, now) && globMatches(r.value, target.value))
        if (glob) return glob
      }
    }
    return undefined
  }

  /**
   * Calls `wake` after every change (with its position) or reload, so streams can read what is new
   * from the durable log. A wake-up carries no revocation on purpose: the log, not the message, is
   * what streams must not miss.
   */
  watch(wake: (seq?: number) => void): () => void {
    this.watchers.add(wake)
    return () => this.watchers.delete(wake)
  }

  /** True once the first snapshot is in and contact is recent. */
  isCurrent(): boolean {
    return this.loaded && this.monotonic() - this.lastContact <= this.maxStalenessMs
  }

  snapshot(revocations: Revocation[]): void {
    const exact = new Map<string, Revocation>()
    const globs: Revocation[] = []
    for (const revocation of revocations) {
      if ((this.seen.get(revocation.id) ?? -1) > revocation.seq) continue
      this.seen.set(revocation.id, revocation.seq)
      if (revocation.liftedAt !== null) continue
      if (revocation.kind === 'subject' && isGlob(revocation.value)) globs.push(revocation)
      else exact.set(keyOf(revocation), revocation)
    }
    this.exact = exact
    this.subjectGlobs = globs
    this.loaded = true
    this.contact()
    this.wake()
  }

  change(revocation: Revocation): void {
    if ((this.seen.get(revocation.id) ?? -1) >= revocation.seq) return
    this.seen.set(revocation.id, revocation.seq)
    const key = keyOf(revocation)
    if (this.exact.get(key)?.id === revocation.id) this.exact.delete(key)
    this.subjectGlobs = this.subjectGlobs.filter((r) => r.id !== revocation.id)
    if (revocation.liftedAt === null) {
      if (revocation.kind === 'subject' && isGlob(revocation.value)) this.subjectGlobs.push(revocation)
      else this.exact.set(key, revocation)
    }
    this.wake(revocation.seq)
  }

  private wake(seq?: number): void {
    for (const wake of this.watchers) wake(seq)
  }

  contact(): void {
    this.lastContact = this.monotonic()
  }

  private ensureCurrent(): void {
    if (!this.loaded) throw new ServiceUnavailableError('revocation state is not loaded yet')
    const silent = this.monotonic() - this.lastContact
    if (silent > this.maxStalenessMs) {
      throw new ServiceUnavailableError(`revocation state cannot be checked: no word from the revocation store for ${(silent / 1000).toFixed(1)} s`)
    }
  }
}

function keyOf(target: RevocationTarget): string {
  return `${target.kind}:${target.value}`
}
