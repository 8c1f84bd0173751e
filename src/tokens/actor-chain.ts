import type { ActorClaim } from './access-token.js'

/**
 * The `grants` claim: the subject's grants, then those of the actors' own tokens it was got with
 * (each list sorted, none twice), so a `grant` revocation of either revokes it.
 */
export function grantsClaimOf(grantIds: readonly string[], actorGrantIds: readonly string[]): string[] {
  return [...grantIds, ...actorGrantIds.filter((id) => !grantIds.includes(id))]
}

/** Deeper than any chain `delegation.maxChainDepth` allows: a claim nested past it is not one we wrote. */
const MAX_READABLE_DEPTH = 10

/**
 * The `act` claim (RFC 8693 section 4.1) for a delegation chain, the current actor first: the first
 * is outermost, each one after it nested inside the one before. Undefined for no actors.
 */
export function actClaimOf(actors: readonly string[]): ActorClaim | undefined {
  let claim: ActorClaim | undefined
  for (let i = actors.length - 1; i >= 0; i--) claim = claim === undefined ? { sub: actors[i] } : { sub: actors[i], act: claim }
  return claim
}

/**
 * The chain an `act` claim names, the current actor first: [] when absent, null when it is not one we
 * could have written (a level with anything but `sub` and `act`, a `sub` that is not a string, nested
 * too deep).
 */
export function actorsOf(act: unknown): string[] | null {
  const actors: string[] = []
  let level = act
  while (level !== undefined) {
    if (typeof level !== 'object' || level === null || Array.isArray(level) || actors.length === MAX_READABLE_DEPTH) return null
    const { sub, act: inner, ...rest } = level as Record<string, unknown>
    if (typeof sub !== 'string' || Object.keys(rest).length > 0) return null
    actors.push(sub)
    level = inner
  }
  return actors
}
