import type { Clock } from '../lib/clock.js'
import type { RevocationStore, RevocationTarget } from './revocation-store.js'

/**
 * Revocations in this process only: for a single instance with no REDIS_URL. Another instance would
 * never hear of them, which is why the service says so loudly at start.
 */
export class MemoryRevocationStore implements RevocationStore {
  private readonly revoked = new Map<string, number>()

  constructor(private readonly clock: Clock) {}

  async findRevoked(targets: RevocationTarget[]): Promise<RevocationTarget | undefined> {
    const now = this.clock.now()
    return targets.find((target) => {
      const key = keyOf(target)
      const until = this.revoked.get(key)
      if (until === undefined) return false
      if (until <= now) {
        this.revoked.delete(key)
        return false
      }
      return true
    })
  }

  async revoke(target: RevocationTarget, expiresAt?: Date): Promise<void> {
    const until = expiresAt ? expiresAt.getTime() : Number.POSITIVE_INFINITY
    if (until <= this.clock.now()) return
    this.revoked.set(keyOf(target), until)
  }

  async lift(target: RevocationTarget): Promise<void> {
    this.revoked.delete(keyOf(target))
  }

  async close(): Promise<void> {}
}

function keyOf(target: RevocationTarget): string {
  return `${target.kind}:${target.value}`
}
