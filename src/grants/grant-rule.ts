import type { AttestedIdentity } from '../attestors/attestor.js'
import { compileGlob, type CompiledGlob } from '../lib/glob.js'
import type { Grant } from './grant.js'

type Conditions = Grant['conditions']

/** One condition compiled: the claim, and the globs of which one must match it. */
interface Condition {
  claim: string
  globs: CompiledGlob[]
}

/** What applies() compiles the first time it is asked, and keeps as long as the rule lives. */
interface Compiled {
  subject: CompiledGlob
  conditions: Condition[]
}

/** Shared by every grant without conditions (most of them), instead of one empty object each. */
const NO_CONDITIONS: Conditions = Object.freeze({})

/**
 * A grant as the hot path holds it (src/grants/grant-catalog.ts keeps one per active grant): what
 * matching and deciding need, and which version of the grant it is. Owner, description and updatedAt stay in
 * the store, and times are numbers, not Dates: held for every grant of the table, each of those cost
 * more than the rest of the rule.
 *
 * The globs are compiled the first time the rule is a candidate, and kept with it: a rule that is
 * never a candidate costs no automaton, and one that is never has to look its globs up in a cache
 * shared with every other grant.
 *
 * @example
 * const rule = GrantRule.of(grant)
 * if (rule.applies(identity, clock.now())) ...
 */
export class GrantRule {
  private compiled: Compiled | undefined = undefined

  private constructor(
    readonly id: string,
    readonly subject: string,
    private readonly conditions: Conditions,
    readonly audiences: readonly string[],
    readonly scopes: readonly string[],
    readonly maxTtlSeconds: number,
    readonly enabled: boolean,
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
      grant.version,
      grant.expiresAt.getTime(),
      grant.createdAt.getTime(),
    )
  }

  /** Enabled, not expired at `nowMs`, its subject glob matches the identity and so does every condition. */
  applies(identity: AttestedIdentity, nowMs: number): boolean {
    if (!this.enabled || this.expiresAtMs <= nowMs) return false
    const compiled = (this.compiled ??= compile(this.subject, this.conditions))
    if (!compiled.subject.matches(identity.subject)) return false
    for (const { claim, globs } of compiled.conditions) {
      // Only the attestation's own claims: never an inherited property such as `toString`, whose text
      // a glob could match.
      if (!Object.hasOwn(identity.claims, claim)) return false
      const actual = identity.claims[claim]
      if (typeof actual !== 'string' || !globs.some((glob) => glob.matches(actual))) return false
    }
    return true
  }
}

function compile(subject: string, conditions: Conditions): Compiled {
  return {
    subject: compileGlob(subject),
    conditions: Object.entries(conditions).map(([claim, expected]) => ({
      claim,
      globs: (Array.isArray(expected) ? expected : [expected]).map(compileGlob),
    })),
  }
}

/** The store's listing order: created first, then by id. */
export function inCreationOrder(a: GrantRule, b: GrantRule): number {
  const byTime = a.createdAtMs - b.createdAtMs
  if (byTime !== 0) return byTime
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0
}
