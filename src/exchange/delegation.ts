import { InvalidGrantError } from '../errors.js'
import type { GrantRule } from '../grants/grant-rule.js'
import { activeGrantsOf, type ActiveGrants } from './narrowing.js'
import type { Presented } from './presented.js'

/**
 * RFC 8693 delegation: who may act for whom, and how long a chain may grow. The grants of the subject
 * say who may act for it (`mayAct`); the chain is the actor of this exchange, then those already
 * acting in the subject token (the current actor first, as `act` nests them).
 */

/** The chain a delegated token carries; refused past `maxChainDepth`. */
export function delegationChain(actor: string, actorsBefore: readonly string[], maxChainDepth: number): string[] {
  const chain = [actor, ...actorsBefore]
  if (chain.length > maxChainDepth) {
    throw new InvalidGrantError(
      `the delegation chain would name ${chain.length} actors; delegation.maxChainDepth allows ${maxChainDepth}`,
      'delegation_chain_too_long',
    )
  }
  return chain
}

/** The candidate grants of an attested subject that let `actor` act for it: only those may contribute. */
export function grantsLettingAct(candidates: readonly GrantRule[], actor: string, subject: string): GrantRule[] {
  const letting = candidates.filter((grant) => grant.permitsActor(actor))
  if (letting.length === 0) throw notAllowed(actor, subject)
  return letting
}

/**
 * For a token exchanged from one of our tokens: every grant it came from must let `actor` act, since
 * each gave it something the actor would get.
 */
export function ensureEveryGrantLetsAct(grants: readonly GrantRule[], actor: string, subject: string): void {
  if (grants.length === 0 || grants.some((grant) => !grant.permitsActor(actor))) throw notAllowed(actor, subject)
}

/**
 * An access token of ours is an actor's credential only when a resource server that received it could
 * not replay it as one: bound to a key (its holder must prove it), or issued for this service itself
 * (its audience is the issuer, so no resource server ever held it). And it must be the actor's own,
 * not one it holds for somebody else.
 */
export function ensureUsableAsActor(actor: Presented, issuer: string, grants: ActiveGrants): void {
  if (actor.kind !== 'access_token') return
  const { entry, confirmation } = actor.token
  if ((entry.actors ?? []).length > 0) {
    throw new InvalidGrantError(
      'the actor_token is itself delegated: present a token issued to the actor for itself',
      'actor_token_unusable',
    )
  }
  if (confirmation === undefined && entry.audience !== issuer) {
    throw new InvalidGrantError(
      `an access token given as actor_token must be DPoP-bound or issued for audience "${issuer}"`,
      'actor_token_unusable',
    )
  }
  // Disabling the grant an actor's token came from stops it acting, as it stops its other uses.
  activeGrantsOf(entry.grantIds, grants, 'actor_token')
}

function notAllowed(actor: string, subject: string): InvalidGrantError {
  return new InvalidGrantError(`no grant lets ${actor} act for ${subject} (mayAct)`, 'actor_not_allowed')
}
