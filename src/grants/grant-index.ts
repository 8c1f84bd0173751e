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
 * candidates are a superset of the matching grants, in the order of the grants given: the caller still
 * matches each candidate's subject, conditions, audiences and scopes (src/grants/grant-matcher.ts).
 *
 * @example
 * const index = new GrantIndex(grants)
 * decide(identity, index.candidates(identity.subject), now, audience, scopes)
 */
export class GrantIndex {
  private readonly exact = new Map<string, Grant[]>()
  private readonly byPrefix = new Map<string, Grant[]>()
  private readonly position = new Map<Grant, number>()

  constructor(readonly grants: readonly Grant[]) {
    grants.forEach((grant, index) => {
      this.position.set(grant, index)
      if (isGlob(grant.subject)) file(this.byPrefix, segmentPrefixOf(grant.subject), grant)
      else file(this.exact, grant.subject, grant)
    })
  }

  get size(): number {
    return this.grants.length
  }

  candidates(subject: string): Grant[] {
    const found: Grant[] = [...(this.exact.get(subject) ?? []), ...(this.byPrefix.get('') ?? [])]
    for (let slash = subject.indexOf('/'); slash !== -1; slash = subject.indexOf('/', slash + 1)) {
      const bucket = this.byPrefix.get(subject.slice(0, slash + 1))
      if (bucket !== undefined) found.push(...bucket)
    }
    // Each grant is filed once, so no duplicates; the table's order keeps decisions as a full scan makes them.
    return found.length < 2 ? found : found.sort((a, b) => this.position.get(a)! - this.position.get(b)!)
  }
}

/** The glob's literal part, cut back to just after its last `/` ('' when it has none). */
function segmentPrefixOf(glob: string): string {
  const star = glob.indexOf('*')
  const question = glob.indexOf('?')
  const firstWildcard = star === -1 ? question : question === -1 ? star : Math.min(star, question)
  return glob.slice(0, glob.lastIndexOf('/', firstWildcard - 1) + 1)
}

function file(map: Map<string, Grant[]>, key: string, grant: Grant): void {
  const bucket = map.get(key)
  if (bucket === undefined) map.set(key, [grant])
  else bucket.push(grant)
}
