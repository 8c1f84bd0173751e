/**
 * Time as the token source sees it, injected so that tests (and simulations of a fleet) run hours of
 * refreshes in milliseconds: a clock to read and timers to wait on. The defaults are the system's.
 */

/** Milliseconds since the epoch. */
export interface Clock {
  now(): number
}

/** A pending timer. */
export interface TimerHandle {
  cancel(): void
  /** Keeps the process alive until the timer fires (a caller is waiting on it). */
  ref(): void
  /** Lets the process exit although the timer is pending (only background work waits on it). */
  unref(): void
}

export interface Timers {
  /** Calls `callback` once, `delayMs` from now. The timer starts unref'd: see TimerHandle. */
  set(callback: () => void, delayMs: number): TimerHandle
}

export const systemClock: Clock = { now: () => Date.now() }

/** Node's timers, unref'd when made: a token source alone never keeps a process running. */
export const systemTimers: Timers = {
  set(callback, delayMs) {
    // setTimeout's longest delay is 2^31 - 1 ms (24.8 days); longer ones would fire at once.
    const timer = setTimeout(callback, Math.min(Math.max(0, delayMs), 2 ** 31 - 1))
    timer.unref()
    return {
      cancel: () => clearTimeout(timer),
      ref: () => void timer.ref(),
      unref: () => void timer.unref(),
    }
  },
}
