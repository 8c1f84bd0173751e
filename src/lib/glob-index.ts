import { isGlob } from './glob.js'

/**
 * Items filed under a glob (or a literal value), found by the values they could match without looking
 * at the others, so a lookup costs what concerns the value, not how many items are held.
 *
 * A glob can only match a value that starts with the glob's literal part (everything before its first
 * `*` or `?`). Cut back to its last `/`, that literal part is one of the few prefixes of the value that
 * end at a `/` (or the empty prefix), so each glob is filed under it and a lookup reads one bucket per
 * `/` of the value. A literal is filed under itself. The candidates are a superset of the items whose
 * glob matches: the caller still matches each (src/lib/glob.ts), which keeps the glob semantics exactly
 * as they are.
 *
 * @example
 * const index = new GlobIndex<Revocation>()
 * index.set(revocation.id, revocation.value, revocation)
 * for (const candidate of index.candidates(subject)) if (globMatches(candidate.value, subject)) ...
 */
export class GlobIndex<T> {
  private readonly literals = new Map<string, Map<string, T>>()
  private readonly byPrefix = new Map<string, Map<string, T>>()
  /** Where each key is filed, so it can be moved or removed without a scan. */
  private readonly filed = new Map<string, { buckets: Map<string, Map<string, T>>; bucket: string }>()

  get size(): number {
    return this.filed.size
  }

  /** Files `item` under `pattern` (a glob or a literal) as `key`, replacing what `key` held before. */
  set(key: string, pattern: string, item: T): void {
    this.delete(key)
    const buckets = isGlob(pattern) ? this.byPrefix : this.literals
    const bucket = isGlob(pattern) ? segmentPrefixOf(pattern) : pattern
    let held = buckets.get(bucket)
    if (held === undefined) buckets.set(bucket, (held = new Map<string, T>()))
    held.set(key, item)
    this.filed.set(key, { buckets, bucket })
  }

  delete(key: string): boolean {
    const place = this.filed.get(key)
    if (place === undefined) return false
    const held = place.buckets.get(place.bucket)!
    held.delete(key)
    if (held.size === 0) place.buckets.delete(place.bucket)
    this.filed.delete(key)
    return true
  }

  clear(): void {
    this.literals.clear()
    this.byPrefix.clear()
    this.filed.clear()
  }

  /** The items whose pattern could match `value`: literals equal to it, then globs by their literal part. */
  *candidates(value: string): Generator<T> {
    yield* this.literals.get(value)?.values() ?? []
    yield* this.byPrefix.get('')?.values() ?? []
    for (let slash = value.indexOf('/'); slash !== -1; slash = value.indexOf('/', slash + 1)) {
      yield* this.byPrefix.get(value.slice(0, slash + 1))?.values() ?? []
    }
  }
}

/** The glob's literal part, cut back to just after its last `/` ('' when it has none). */
export function segmentPrefixOf(glob: string): string {
  const star = glob.indexOf('*')
  const question = glob.indexOf('?')
  const firstWildcard = star === -1 ? question : question === -1 ? star : Math.min(star, question)
  return glob.slice(0, glob.lastIndexOf('/', firstWildcard - 1) + 1)
}
