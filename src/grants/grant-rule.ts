import type { AttestedIdentity } from '../attestors/attestor.js'
import { sharedGlob, type CompiledGlob } from '../lib/glob.js'
import type { Grant } from './grant.js'

type Conditions = Grant['conditions']

/**
 * One condition compiled: the claim, its first glob, and the others of which one may match instead.
 * No first glob (a list left empty in the table) matches nothing.
 */
interface Condition {
  claim: string
  glob: CompiledGlob | undefined
  others: readonly CompiledGlob[]
}

/** Shared by every grant without conditions (most of them), instead of one empty object each. */
const NO_CONDITIONS: Conditions = Object.freeze({})
const NONE: readonly never[] = Object.freeze([])

/**
 * A grant as the hot path holds it (src/grants/grant-catalog.ts keeps one per active grant): what
 * matching and deciding need, and which version of the grant it is. Owner, description and updatedAt
 * stay in the store, and times are numbers, not Dates: held for every grant of the table, each of
 * those cost more than the rest of the rule.
 *
 * The globs are compiled the first time the rule is a candidate, and kept with it: a rule that is
 * never a candidate costs no automaton, and one that is looks no glob up by its text again. Rules
 * with the same glob share its automaton (src/lib/glob.ts sharedGlob).
 *
 * Matching a candidate costs the memory it reads more than the work it does: with 100,000 grants
 * the candidates of an exchange are rarely in the CPU's caches, and each object read is a wait. So
 * the compiled globs hang off the rule itself, a condition of one glob holds it without an array,
 * and what fails most often (subject, then conditions) is read before what rarely does (expiry).
 *
 * @example
 * const rule = GrantRule.of(grant)
 * if (rule.applies(identity, clock.now())) ...
 */
export class GrantRule {
  /** Set the first time the rule is a candidate (compile), with conditionGlobs. */
  private subjectGlob: CompiledGlob | undefined = undefined
  private conditionGlobs: readonly Condition[] = NONE
  /** Set the first time an actor is checked against the rule (permitsActor). */
  private actorGlobs: readonly CompiledGlob[] | undefined = undefined

  private constructor(
    readonly id: string,
    readonly subject: string,
    private readonly conditions: Conditions,
    readonly audiences: readonly string[],
    readonly scopes: readonly string[],
    readonly maxTtlSeconds: number,
    readonly enabled: boolean,
    /** Tokens it contributes to must be DPoP-bound. */
    readonly requireDpop: boolean,
    /** Who may act for its subjects with an `actor_token`: SPIFFE ID globs; empty (the common case), nobody. */
    readonly mayAct: readonly string[],
    /** Which version of the grant this is: the admin API's ETag. */
    readonly version: number,
    readonly expiresAtMs: number,
    readonly createdAtMs: number,
  ) {}

  static of(grant: Grant): GrantRule {
    return new GrantRule(
      grant.id,
      grant.subject,
      Object.keys(grant.conditions).length === 0 ? NO_CONDITIONS : grant.conditions,
      // Copies of their exact length: an array the database driver built by pushing has room for 17.
      [...grant.audiences],
      [...grant.scopes],
      grant.maxTtlSeconds,
      grant.enabled,
      grant.requireDpop,
      grant.mayAct.length === 0 ? NONE : [...grant.mayAct],
      grant.version,
      grant.expiresAt.getTime(),
      grant.createdAt.getTime(),
    )
  }

  /** Its subject glob matches the identity and so does every condition, and it is enabled and not expired at `nowMs`. */
  applies(identity: AttestedIdentity, nowMs: number): boolean {
    const subject = this.subjectGlob ?? this.compile()
    if (!subject.matches(identity.subject)) return false
    for (const { claim, glob, others } of this.conditionGlobs) {
      // Only the attestation's own claims: never an inherited property such as `toString`, whose text
      // a glob could match.
      if (!Object.hasOwn(identity.claims, claim)) return false
      const actual = identity.claims[claim]
      if (typeof actual !== 'string') return false
      if (glob === undefined || (!glob.matches(actual) && !others.some((other) => other.matches(actual)))) return false
    }
    return this.enabled && this.expiresAtMs > nowMs
  }

  /**
   * Whether the workload `actorSubject` (a SPIFFE ID, the actor token's subject) may act for this
   * grant's subjects: one of its `mayAct` globs matches the whole ID. Nothing else is checked here (the
   * subject, enabled, expiry: applies() is).
   */
  permitsActor(actorSubject: string): boolean {
    if (this.mayAct.length === 0) return false
    this.actorGlobs ??= this.mayAct.map((glob) => sharedGlob(glob))
    return this.actorGlobs.some((glob) => glob.matches(actorSubject))
  }

  private compile(): CompiledGlob {
    this.conditionGlobs = Object.entries(this.conditions).map(([claim, expected]) => {
      const [first, ...others] = (Array.isArray(expected) ? expected : [expected]).map((glob) => sharedGlob(glob))
      return { claim, glob: first, others: others.length === 0 ? NONE : others }
    })
    return (this.subjectGlob = sharedGlob(this.subject))
  }
}

/** The store's listing order: created first, then by id. */
export function inCreationOrder(a: GrantRule, b: GrantRule): number {
  const byTime = a.createdAtMs - b.createdAtMs
  if (byTime !== 0) return byTime
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}
