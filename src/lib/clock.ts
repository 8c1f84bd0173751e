/** Injected time: everything that verifies or mints asks a Clock, so tests can freeze it. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }

/** A clock that stands still until told to move; for tests and for verifying old samples "as of" their time. */
export class FixedClock implements Clock {
  constructor(private millis: number) {}
  now(): number {
    return this.millis
  }
  set(millis: number): void {
    this.millis = millis
  }
  advance(millis: number): void {
    this.millis += millis
  }
}

export function epochSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000)
}
