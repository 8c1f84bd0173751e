import { malformedClaims as malformed } from './errors.js'

/**
 * RFC 8693 section 4.1 `act`: who acts for the token's subject. The outermost `sub` is the current
 * actor; a nested `act` is the actor it acts for in turn, back to the first.
 */
export interface ActorClaim {
  /** The actor's identity, a SPIFFE ID. */
  sub: string
  act?: ActorClaim
}

/** The longest delegation chain accepted: deeper than any the STS mints, shallow enough to check quickly. */
export const MAX_ACTOR_DEPTH = 10

/**
 * The delegation chain of a token's `act` claim, current actor first; [] without one. Each level must
 * be exactly `sub` (a non-empty string) and, optionally, `act`: a claim of another shape is refused
 * rather than read in part, since every actor in it is checked against the revocations.
 */
export function actorsOf(act: unknown): string[] {
  const actors: string[] = []
  let level = act
  while (level !== undefined) {
    if (actors.length === MAX_ACTOR_DEPTH) throw malformed(`act nests more than ${MAX_ACTOR_DEPTH} actors`)
    if (typeof level !== 'object' || level === null || Array.isArray(level)) throw malformed('act must be an object')
    const { sub, act: inner, ...others } = level as Record<string, unknown>
    if (typeof sub !== 'string' || sub === '') throw malformed('each act must have a sub')
    if (Object.keys(others).length > 0) throw malformed(`act has a claim other than sub and act: ${Object.keys(others)[0]}`)
    actors.push(sub)
    level = inner
  }
  return actors
}

/** The token's `ancestor_jtis`: every token of ours it was exchanged from; [] without the claim. */
export function ancestorTokenIdsOf(ancestorJtis: unknown): string[] {
  if (ancestorJtis === undefined) return []
  if (!Array.isArray(ancestorJtis) || !ancestorJtis.every((jti) => typeof jti === 'string' && jti !== '')) {
    throw malformed('ancestor_jtis must be an array of jti strings')
  }
  return ancestorJtis as string[]
}
