import type { DpopProof } from '../dpop/dpop-proof.js'
import { InvalidGrantError, InvalidRequestError } from '../errors.js'
import type { GrantDecision } from '../grants/grant-matcher.js'

/**
 * The key the token is bound to: the proof's whenever there is one; none for a bearer request, which
 * is refused when a contributing grant requires DPoP or a presented token is bound. `invalid_request`,
 * not `invalid_dpop_proof`: RFC 9449 defines the latter for a proof that is invalid (section 5), and
 * here there is none; the request lacks something required (RFC 6749 section 5.2), which a client that
 * has no DPoP key cannot fix by making a new proof.
 *
 * A presented token bound to a key (`boundKeys`, the subject's and the actor's) is usable only by its
 * holder: the proof must be made with that key, and what it is exchanged for is bound to it in turn,
 * so binding never comes off as a token is narrowed or passed along.
 */
export function bindingFor(decision: GrantDecision, proof: DpopProof | undefined, boundKeys: readonly string[]): string | undefined {
  if (proof === undefined) {
    if (boundKeys.length > 0) {
      throw new InvalidRequestError(
        'the token presented is bound to a DPoP key: send a DPoP proof (RFC 9449) made with that key',
        'dpop_required',
      )
    }
    if (decision.requireDpop) {
      throw new InvalidRequestError(
        `a grant for audience "${decision.audience}" requires DPoP: send a DPoP proof (RFC 9449) with the token request`,
        'dpop_required',
      )
    }
    return undefined
  }
  if (boundKeys.some((jkt) => jkt !== proof.jkt)) {
    throw new InvalidGrantError('the token presented is bound to another DPoP key than the proof is made with', 'dpop_key_mismatch')
  }
  return proof.jkt
}
