import type { RedisClient } from '../lib/redis-connection.js'

/** A count in a fixed window: how many so far, and how long until the window ends. */
export interface BudgetCount {
  count: number
  resetMs: number
}

/** Where request budgets are counted: per instance, or in Redis so that they hold across instances. */
export interface BudgetCounter {
  /** Counts one against `key`, opening a window of `windowMs` if none is open. */
  hit(key: string, windowMs: number): Promise<BudgetCount>
  /** The count against `key` so far, counting nothing. */
  peek(key: string): Promise<BudgetCount>
}

/** Per-instance counts; the oldest keys are dropped beyond `maxKeys`, so a flood of addresses cannot grow it without bound. */
export class MemoryBudgetCounter implements BudgetCounter {
  private readonly windows = new Map<string, { count: number; until: number }>()

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 10_000,
  ) {}

  async hit(key: string, windowMs: number): Promise<BudgetCount> {
    const now = this.now()
    const open = this.open(key, now)
    if (open) {
      open.count++
      return { count: open.count, resetMs: open.until - now }
    }
    if (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value!)
    this.windows.set(key, { count: 1, until: now + windowMs })
    return { count: 1, resetMs: windowMs }
  }

  async peek(key: string): Promise<BudgetCount> {
    const now = this.now()
    const open = this.open(key, now)
    return open ? { count: open.count, resetMs: open.until - now } : { count: 0, resetMs: 0 }
  }

  private open(key: string, now: number) {
    const window = this.windows.get(key)
    if (window && window.until > now) return window
    if (window) this.windows.delete(key)
    return undefined
  }
}

// One round trip, atomic: the first hit of a window sets its expiry.
const HIT = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`
const PEEK = `return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('PTTL', KEYS[1])}`

/** Counts in Redis (REDIS_URL): every instance spends the same budget. Errors propagate: the caller fails closed. */
export class RedisBudgetCounter implements BudgetCounter {
  constructor(
    private readonly redis: RedisClient,
    private readonly namespace = 'rate-limit:',
  ) {}

  async hit(key: string, windowMs: number): Promise<BudgetCount> {
    return this.answer(await this.redis.eval(HIT, 1, this.namespace + key, windowMs))
  }

  async peek(key: string): Promise<BudgetCount> {
    return this.answer(await this.redis.eval(PEEK, 1, this.namespace + key))
  }

  private answer(result: unknown): BudgetCount {
    const [count, ttl] = result as [number, number]
    return { count, resetMs: Math.max(0, ttl) }
  }
}
