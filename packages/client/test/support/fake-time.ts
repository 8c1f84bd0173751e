import type { Clock, TimerHandle, Timers } from '../../src/token-source/time.js'

/**
 * Time that moves only when a test says so, for the token source (its Clock and Timers) and for
 * whatever else listens (the STS's FixedClock). `advance` fires the timers that fall due in order,
 * letting the work each one starts (attestations, HTTP) finish before moving on: pass the real I/O
 * through `track` so it knows when that is.
 */
export class FakeTime implements Clock, Timers {
  private current: number
  private sequence = 0
  private readonly timers = new Map<number, { at: number; callback: () => void; referenced: boolean }>()
  private inFlight = 0

  constructor(
    start: number,
    private readonly onMove: (now: number) => void = () => {},
  ) {
    this.current = start
    onMove(start)
  }

  now(): number {
    return this.current
  }

  set(callback: () => void, delayMs: number): TimerHandle {
    const id = this.sequence++
    // Whole milliseconds, as real timers keep them (and as the STS's clock expects).
    const timer = { at: this.current + Math.max(0, Math.ceil(delayMs)), callback, referenced: false }
    this.timers.set(id, timer)
    return {
      cancel: () => void this.timers.delete(id),
      ref: () => void (timer.referenced = true),
      unref: () => void (timer.referenced = false),
    }
  }

  /** Timers still to fire; `referenced` counts those that would keep a real process alive. */
  pending(): { total: number; referenced: number; next?: number } {
    const all = [...this.timers.values()]
    const next = Math.min(...all.map((timer) => timer.at))
    return { total: all.length, referenced: all.filter((timer) => timer.referenced).length, ...(all.length > 0 ? { next } : {}) }
  }

  /** Counts `work` as in flight until it settles: `advance` waits for it. */
  track<T>(work: Promise<T>): Promise<T> {
    this.inFlight++
    return work.finally(() => this.inFlight--)
  }

  /** Wraps a fetch so that its requests, bodies included, count as in flight. */
  trackedFetch(fetch: typeof globalThis.fetch = globalThis.fetch): typeof globalThis.fetch {
    return (input, init) =>
      this.track(
        (async () => {
          const response = await fetch(input, init)
          const body = await response.arrayBuffer()
          return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers })
        })(),
      )
  }

  /** Lets started work finish: returns once nothing is in flight for several turns of the event loop. */
  async settle(): Promise<void> {
    for (let quiet = 0; quiet < 5;) {
      await new Promise((resolve) => setImmediate(resolve))
      quiet = this.inFlight === 0 ? quiet + 1 : 0
    }
  }

  /** Moves time forward by `ms`, firing every timer that falls due, each at its own moment. */
  async advance(ms: number): Promise<void> {
    await this.advanceTo(this.current + ms)
  }

  async advanceTo(target: number): Promise<void> {
    await this.settle()
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, timer]) => timer.at <= target)
        .sort(([a, x], [b, y]) => (x.at !== y.at ? x.at - y.at : a - b))
      if (due.length === 0) break
      const at = due[0]![1].at
      this.moveTo(at)
      for (const [id, timer] of due.filter(([, timer]) => timer.at === at)) {
        // One callback may cancel another due at the same moment.
        if (!this.timers.delete(id)) continue
        timer.callback()
      }
      await this.settle()
    }
    this.moveTo(target)
    await this.settle()
  }

  private moveTo(at: number): void {
    if (at > this.current) {
      this.current = at
      this.onMove(at)
    }
  }
}

/** A small seeded generator (mulberry32): the same seed, the same jitter, run after run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let value = state
    value = Math.imul(value ^ (value >>> 15), value | 1)
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61)
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296
  }
}
