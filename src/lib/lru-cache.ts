/**
 * A bounded cache that forgets the entry used least recently, one at a time. Emptying a full cache
 * whole instead would drop the entries in use with the rest: a steady trickle of new keys would then
 * make every key in use be made again each time the cache fills.
 *
 * @example
 * const compiled = new LruCache<string, CompiledGlob>(10_000)
 * compiled.obtain(glob, compileGlob).matches(value)
 */
export class LruCache<K, V> {
  /** In order of last use, the least recent first (a Map keeps insertion order). */
  private readonly entries = new Map<K, V>()

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError(`capacity must be a positive integer, got ${capacity}`)
  }

  get size(): number {
    return this.entries.size
  }

  has(key: K): boolean {
    return this.entries.has(key)
  }

  /** The value held for `key`, made by `make` and held when there is none. */
  obtain(key: K, make: (key: K) => V): V {
    const held = this.entries.get(key)
    if (held !== undefined || this.entries.has(key)) {
      // Moved to the most recent end.
      this.entries.delete(key)
      this.entries.set(key, held as V)
      return held as V
    }
    const made = make(key)
    if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value as K)
    this.entries.set(key, made)
    return made
  }
}
