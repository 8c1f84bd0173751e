import { GlobIndex } from '@seed-sts/client/glob'
import type { GrantRule } from './grant-rule.js'

/**
 * The grants whose subject could match an identity, found without looking at the others: an exchange
 * costs what concerns its workload, not the size of the table.
 *
 * Grants are filed by subject in a GlobIndex (packages/client/src/glob/glob-index.ts: a glob under
 * its literal part, a literal subject under itself), so a lookup reads one bucket per `/` of the identity. The
 * candidates are a superset of the matching grants, in no particular order: the caller still matches
 * each candidate's subject, conditions, audiences and scopes, and puts the few that apply in creation
 * order (src/grants/grant-matcher.ts).
 *
 * Grants are filed and taken out one at a time as they change (src/grants/grant-catalog.ts), each
 * costing its own bucket only.
 *
 * @example
 * const index = new GrantIndex(grants.map(GrantRule.of))
 * index.upsert(GrantRule.of(replaced))
 * decide(identity, index.candidates(identity.subject), now, audience, scopes)
 */
export class GrantIndex {
  private readonly bySubject = new GlobIndex<GrantRule>()
  /**
   * The same rules by id, for a grant named rather than matched (a delegated token's grants, checked
   * against its actor). The GlobIndex cannot be asked by key; one Map entry per grant costs a few
   * megabytes at 100,000 grants, little beside the rules themselves.
   */
  private readonly byId = new Map<string, GrantRule>()

  constructor(rules: Iterable<GrantRule> = []) {
    for (const rule of rules) this.upsert(rule)
  }

  get size(): number {
    return this.bySubject.size
  }

  /** Files `rule`, in place of the one with its id if there is one. */
  upsert(rule: GrantRule): void {
    this.bySubject.set(rule.id, rule.subject, rule)
    this.byId.set(rule.id, rule)
  }

  /** Takes out the grant with this id; false when none is filed. */
  remove(id: string): boolean {
    this.byId.delete(id)
    return this.bySubject.delete(id)
  }

  /** The grant filed with this id, if any. */
  get(id: string): GrantRule | undefined {
    return this.byId.get(id)
  }

  /** Each grant is filed once, so no duplicates. */
  candidates(subject: string): GrantRule[] {
    return this.bySubject.candidates(subject)
  }
}
