import type { RedisClient } from '../lib/redis-connection.js'
import type { RevocationBusKeys } from '../revocation/redis-revocation-keys.js'
import { SEQ_FIELD } from '../revocation/redis-revocation-scripts.js'

/** The furthest the durable revocation log has been seen to reach, and when that was recorded. */
export interface HighWaterMark {
  /** A revocation position (`revocations.seq`, a revocation's `cursor`). */
  seq: bigint
  /** When the mark was last raised; undefined when it comes from the revocation set's own marker only. */
  recordedAt?: Date
}

/** What Redis says of the revocation state it has seen, for the start-up check and the confirm step. */
export interface SeenRevocationState {
  /** The higher of the recorded mark and the set's marker; undefined when Redis has seen nothing. */
  highWater?: HighWaterMark
  /** How far the revocation set in Redis is complete (its `~seq`); undefined when the set is lost. */
  setMarker?: bigint
}

// Raised only, never lowered: positions compared as decimal strings, so every digit counts.
const RAISE = `local function gt(a, b) if #a ~= #b then return #a > #b end return a > b end
local current = redis.call('HGET', KEYS[1], 'seq')
if (not current) or gt(ARGV[1], current) then redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'at', ARGV[2]) end
return 1`

/**
 * The revocation high-water mark in Redis: a key of its own, apart from the revocation set, so that
 * losing the set (eviction, DEL, a failover), which the set's own marker goes with, does not lose it.
 * A database restored from a backup older than this mark would silently drop the revocations made
 * since; src/restore/restore-guard.ts refuses to start on one. One key, one-key commands: fine on a
 * Redis Cluster.
 */
export class RedisRevocationHighWater {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Pick<RevocationBusKeys, 'highWater' | 'set'>,
  ) {}

  /** Raises the mark to `seq` (a position the durable log has reached), if it is higher. */
  async raise(seq: bigint, at: Date): Promise<void> {
    await this.redis.eval(RAISE, 1, this.keys.highWater, String(seq), String(at.getTime()))
  }

  async seen(): Promise<SeenRevocationState> {
    const [mark, marker] = await Promise.all([this.redis.hgetall(this.keys.highWater), this.redis.hget(this.keys.set, SEQ_FIELD)])
    const recorded = position(mark.seq)
    const setMarker = position(marker ?? undefined)
    const at = Number(mark.at)
    let highWater: HighWaterMark | undefined =
      recorded === undefined ? undefined : { seq: recorded, ...(Number.isFinite(at) ? { recordedAt: new Date(at) } : {}) }
    // The set's marker moves with every publication, ahead of the recorded mark's next raise.
    if (setMarker !== undefined && (highWater === undefined || setMarker > highWater.seq)) highWater = { seq: setMarker }
    return { ...(highWater ? { highWater } : {}), ...(setMarker !== undefined ? { setMarker } : {}) }
  }
}

function position(value: string | undefined): bigint | undefined {
  return value !== undefined && /^\d{1,19}$/.test(value) ? BigInt(value) : undefined
}
