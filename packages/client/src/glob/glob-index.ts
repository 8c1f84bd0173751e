import { isGlob } from './glob.js'

/**
 * Items filed under a glob (or a literal value), found by the values they could match without looking
 * at the others, so a lookup costs what concerns the value, not how many items are held.
 *
 * A glob can only match a value that starts with the glob's literal part (everything before its first
 * `*` or `?`). Cut back to its last `/`, that literal part is one of the few prefixes of the value that
 * end at a `/` (or the empty prefix), so each glob is filed under it and a lookup reads one bucket per
 * `/` of the value. A literal is filed under itself. The candidates are a superset of the items whose
 * glob matches: the caller still matches each (glob.ts), which keeps the glob semantics exactly as they
 * are.
 *
 * Most buckets hold one item (a literal SPIFFE ID is usually one grant's), so a bucket is a Map only
 * once it holds two: an index of 100,000 grants would otherwise keep 100,000 Maps of one entry.
 *
 * @example
 * const index = new GlobIndex<{ glob: CompiledGlob }>()
 * index.set(revocation.id, revocation.value, { glob: compileGlob(revocation.value) })
 * for (const candidate of index.candidates(subject)) if (candidate.glob.matches(subject)) ...
 */
export class GlobIndex<T> {
  private readonly literals = new Map<string, Bucket<T>>()
  private readonly byPrefix = new Map<string, Bucket<T>>()
  /** The pattern each key is filed under, which names its bucket: it can be moved or removed without a scan. */
  private readonly patterns = new Map<string, string>()

  get size(): number {
    return this.patterns.size
  }

  /** Files `item` under `pattern` (a glob or a literal) as `key`, replacing what `key` held before. */
  set(key: string, pattern: string, item: T): void {
    this.delete(key)
    const { buckets, name } = this.bucketOf(pattern)
    const held = buckets.get(name)
    if (held === undefined) buckets.set(name, { key, item })
    else if (held instanceof Map) held.set(key, item)
    else
      buckets.set(
        name,
        new Map([
          [held.key, held.item],
          [key, item],
        ]),
      )
    this.patterns.set(key, pattern)
  }

  delete(key: string): boolean {
    const pattern = this.patterns.get(key)
    if (pattern === undefined) return false
    const { buckets, name } = this.bucketOf(pattern)
    const held = buckets.get(name)!
    if (held instanceof Map) {
      held.delete(key)
      if (held.size === 1) {
        const [[lastKey, lastItem]] = held
        buckets.set(name, { key: lastKey, item: lastItem })
      }
    } else buckets.delete(name)
    this.patterns.delete(key)
    return true
  }

  clear(): void {
    this.literals.clear()
    this.byPrefix.clear()
    this.patterns.clear()
  }

  /** The items whose pattern could match `value`: literals equal to it, then globs by their literal part. */
  candidates(value: string): T[] {
    const found: T[] = []
    collect(this.literals.get(value), found)
    collect(this.byPrefix.get(''), found)
    for (let slash = value.indexOf('/'); slash !== -1; slash = value.indexOf('/', slash + 1)) {
      collect(this.byPrefix.get(value.slice(0, slash + 1)), found)
    }
    return found
  }

  private bucketOf(pattern: string): { buckets: Map<string, Bucket<T>>; name: string } {
    return isGlob(pattern) ? { buckets: this.byPrefix, name: segmentPrefixOf(pattern) } : { buckets: this.literals, name: pattern }
  }
}

/** One item, or a Map of two or more by key, in the order they were filed. */
type Bucket<T> = { key: string; item: T } | Map<string, T>

function collect<T>(bucket: Bucket<T> | undefined, into: T[]): void {
  if (bucket === undefined) return
  if (bucket instanceof Map) for (const item of bucket.values()) into.push(item)
  else into.push(bucket.item)
}

/** The glob's literal part, cut back to just after its last `/` ('' when it has none). */
export function segmentPrefixOf(glob: string): string {
  const star = glob.indexOf('*')
  const question = glob.indexOf('?')
  const firstWildcard = star === -1 ? question : question === -1 ? star : Math.min(star, question)
  return glob.slice(0, glob.lastIndexOf('/', firstWildcard - 1) + 1)
}
