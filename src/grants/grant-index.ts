import { isGlob } from '../lib/glob.js'
import type { Grant } from './grant.js'

/**
 * The grants whose subject could match an identity, found without looking at the others: an exchange
 * costs what concerns its workload, not the size of the table.
 *
 * A subject glob can only match an identity that starts with the glob's literal part (everything
 * before its first `*` or `?`). Cut back to its last `/`, that literal part is one of the few prefixes
 * of the identity that end at a `/` (or the empty prefix), so each glob is filed under it and a lookup
 * reads one bucket per `/` of the identity. A subject without wildcards is filed under itself. The
 * candidates are a superset of the matching grants, in creation order (createdAt, then id, as the
 * store lists them), whatever order they were filed in: the caller still matches each candidate's
 * subject, conditions, audiences and scopes (src/grants/grant-matcher.ts).
 *
 * Grants are filed and taken out one at a time as they change (src/grants/grant-catalog.ts), each
 * costing its own bucket only.
 *
 * @example
 * const index = new GrantIndex(grants)
 * index.upsert(replaced)
 * decide(identity, index.candidates(identity.subject), now, audience, scopes)
 */
export class GrantIndex {
  private readonly byId = new Map<string, Grant>()
  private readonly exact = new Map<string, Grant[]>()
  private readonly byPrefix = new Map<string, Grant[]>()

  constructor(grants: Iterable<Grant> = []) {
    for (const grant of grants) this.upsert(grant)
  }

  get size(): number {
    return this.byId.size
  }

  /** Files `grant`, in place of the one with its id if there is one. */
  upsert(grant: Grant): void {
    this.remove(grant.id)
    this.byId.set(grant.id, grant)
    const [map, key] = this.placeOf(grant)
    const bucket = map.get(key)
    if (bucket === undefined) map.set(key, [grant])
    else bucket.push(grant)
  }

  /** Takes out the grant with this id; false when none is filed. */
  remove(id: string): boolean {
    const held = this.byId.get(id)
    if (held === undefined) return false
    this.byId.delete(id)
    const [map, key] = this.placeOf(held)
    const bucket = map.get(key)!
    if (bucket.length === 1) map.delete(key)
    else bucket.splice(bucket.indexOf(held), 1)
    return true
  }

  candidates(subject: string): Grant[] {
    const found: Grant[] = [...(this.exact.get(subject) ?? []), ...(this.byPrefix.get('') ?? [])]
    for (let slash = subject.indexOf('/'); slash !== -1; slash = subject.indexOf('/', slash + 1)) {
      const bucket = this.byPrefix.get(subject.slice(0, slash + 1))
      if (bucket !== undefined) found.push(...bucket)
    }
    // Each grant is filed once, so no duplicates; creation order keeps decisions as a full scan of the table makes them.
    return found.length < 2 ? found : found.sort(inCreationOrder)
  }

  private placeOf(grant: Grant): [Map<string, Grant[]>, string] {
    return isGlob(grant.subject) ? [this.byPrefix, segmentPrefixOf(grant.subject)] : [this.exact, grant.subject]
  }
}

/** The store's listing order: createdAt, then id. */
export function inCreationOrder(a: Grant, b: Grant): number {
  const byTime = a.createdAt.getTime() - b.createdAt.getTime()
  if (byTime !== 0) return byTime
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}

/** The glob's literal part, cut back to just after its last `/` ('' when it has none). */
function segmentPrefixOf(glob: string): string {
  const star = glob.indexOf('*')
  const question = glob.indexOf('?')
  const firstWildcard = star === -1 ? question : question === -1 ? star : Math.min(star, question)
  return glob.slice(0, glob.lastIndexOf('/', firstWildcard - 1) + 1)
}
