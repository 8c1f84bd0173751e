/**
 * A bounded cache that forgets an entry not used lately, one at a time. Emptying a full cache whole
 * instead would drop the entries in use with the rest: a steady trickle of new keys would then make
 * every key in use be made again each time the cache fills.
 *
 * Least recently used, approximated the way operating systems page (second chance, or CLOCK): a hit
 * only marks its entry used, so it costs one lookup, not a reordering; the oldest entry is forgotten
 * unless it was used since it last came round, in which case it goes round again, unmarked.
 *
 * @example
 * const compiled = new LruCache<string, CompiledGlob>(10_000)
 * compiled.obtain(glob, compileGlob).matches(value)
 */
export class LruCache<K, V> {
  /** Oldest first (a Map keeps insertion order); an entry given a second chance is put back last. */
  private readonly entries = new Map<K, { value: V; used: boolean }>()

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
    if (held !== undefined) {
      held.used = true
      return held.value
    }
    const value = make(key)
    if (this.entries.size >= this.capacity) this.forgetOne()
    this.entries.set(key, { value, used: false })
    return value
  }

  /** Ends after one entry: each pass unmarks what it puts back, so an unmarked one comes at the latest after a full round. */
  private forgetOne(): void {
    for (const [key, entry] of this.entries) {
      this.entries.delete(key)
      if (!entry.used) return
      entry.used = false
      this.entries.set(key, entry)
    }
  }
}
