/**
 * What a component reads settings that may change at run time from (a reload: src/reload/). Read
 * `current()` once per unit of work (an exchange, a request) and keep what it gave: the holder is
 * swapped whole, so one unit of work never mixes an old value with a new one.
 */
export interface Settings<T> {
  current(): T
}

/**
 * The one place a value that a reload replaces lives. Only the composition root holds the holder (and
 * so may replace it); everyone else gets it as `Settings<T>`. Replacing is one assignment, so a reader
 * sees the old value or the new one, never a mix of both.
 *
 * @example
 * const limits = new SettingsHolder({ tokenRequestsPerMinute: 6000 })
 * limits.replace({ tokenRequestsPerMinute: 100 })
 * limits.current().tokenRequestsPerMinute // 100
 */
export class SettingsHolder<T> implements Settings<T> {
  constructor(private value: T) {}

  current(): T {
    return this.value
  }

  replace(next: T): void {
    this.value = next
  }
}
