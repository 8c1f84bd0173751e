import { GlobIndex } from '../lib/glob-index.js'
import type { Grant } from './grant.js'

/**
 * The grants whose subject could match an identity, found without looking at the others: an exchange
 * costs what concerns its workload, not the size of the table.
 *
 * Grants are filed by subject in a GlobIndex (src/lib/glob-index.ts: a glob under its literal part, a
 * literal subject under itself), so a lookup reads one bucket per `/` of the identity. The
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
  private readonly bySubject = new GlobIndex<Grant>()

  constructor(grants: Iterable<Grant> = []) {
    for (const grant of grants) this.upsert(grant)
  }

  get size(): number {
    return this.bySubject.size
  }

  /** Files `grant`, in place of the one with its id if there is one. */
  upsert(grant: Grant): void {
    this.bySubject.set(grant.id, grant.subject, grant)
  }

  /** Takes out the grant with this id; false when none is filed. */
  remove(id: string): boolean {
    return this.bySubject.delete(id)
  }

  candidates(subject: string): Grant[] {
    const found = [...this.bySubject.candidates(subject)]
    // Each grant is filed once, so no duplicates; creation order keeps decisions as a full scan of the table makes them.
    return found.length < 2 ? found : found.sort(inCreationOrder)
  }
}

/** The store's listing order: createdAt, then id. */
export function inCreationOrder(a: Grant, b: Grant): number {
  const byTime = a.createdAt.getTime() - b.createdAt.getTime()
  if (byTime !== 0) return byTime
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}
