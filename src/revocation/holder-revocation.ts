import type { IncomingHttpHeaders } from 'node:http'
import type { RevocationService } from './revocation-service.js'

/** Why a holder's revocation is on record, the same for every one of them. */
export const HOLDER_REVOCATION_REASON = 'revoked by its holder (RFC 7009)'

/**
 * The actor a holder's revocation is recorded under: `holder:` and the token's subject, as people signed
 * in through the identity provider are `oidc:<name>`. Admin token names cannot hold a colon
 * (src/admin-tokens/admin-token.ts), so no admin token can pass for a holder.
 */
export function holderActorName(subject: string): string {
  return `holder:${subject}`
}

/** The request a holder revoked with, as far as a proof of its key needs it (a DPoP proof is bound to method, URL and token). */
export interface HolderRequest {
  method: string
  /** The endpoint's URL as this service publishes it (discovery's `revocation_endpoint`): a DPoP proof's `htu`. */
  url: string
  headers: IncomingHttpHeaders
  /** Every `DPoP` header's value as sent (a proof of the token's key), one per header. */
  dpopProofs: readonly string[]
  /** The token being revoked (a DPoP proof's `ath` hashes it). Never logged. */
  token: string
  requestId: string
}

/**
 * Proof that the holder of a key-bound token holds that key too (RFC 9449: the DPoP proof). Resolves
 * when the request proves the key with thumbprint `jkt`; throws a typed error (an OAuth refusal, or
 * ServiceUnavailableError when it cannot tell) otherwise.
 */
export interface HolderKeyProof {
  verify(request: HolderRequest, jkt: string): Promise<void>
}

/**
 * Our token as we issued it, or undefined: TokenIntrospection.verifyAsIssued (src/tokens/introspection.ts),
 * named here by what it must do so that revocation does not import tokens (which imports revocation).
 */
export interface IssuedTokenVerifier {
  verifyAsIssued(token: string): Promise<{ claims: { jti: string; sub: string }; confirmation?: { jkt: string } } | undefined>
}

/** What a holder's request came to. Never told to the holder beyond 200 (RFC 7009 section 2.2): for the log only. */
export type HolderRevocationOutcome =
  { revoked: false } | { revoked: true; jti: string; subject: string; revocationId: string; alreadyRevoked: boolean }

/**
 * RFC 7009 revocation by the holder of a token: possession of the token is the proof (workloads are
 * public clients), and of its key when the token is bound to one. A token that is not one of ours as we
 * issued it (malformed, forged, expired, off the ledger) comes to nothing, and the holder is told no
 * more than for a real one. A real one becomes a `token` revocation of its jti through the revocation
 * service, as an admin's would: on record, audited, in force on every instance before the answer, and
 * expiring with the token.
 */
export class HolderRevocation {
  constructor(
    /** Verifies exactly as introspection does: our issuer, our published keys, `at+jwt`, the ledger. */
    private readonly tokens: IssuedTokenVerifier,
    private readonly revocations: Pick<RevocationService, 'revoke'>,
    private readonly keyProof: HolderKeyProof,
  ) {}

  async revoke(request: HolderRequest): Promise<HolderRevocationOutcome> {
    // Untrusted until verifyAsIssued has checked signature, claims and ledger entry.
    const verified = await this.tokens.verifyAsIssued(request.token)
    if (!verified) return { revoked: false }
    const { claims, confirmation } = verified
    if (confirmation) await this.keyProof.verify(request, confirmation.jkt)
    // No expiresAt: a token revocation expires with the token, whose expiry the service reads from the
    // same ledger entry the token was just checked against (RevocationService.expiryFor).
    const outcome = await this.revocations.revoke(
      { kind: 'token', value: claims.jti, reason: HOLDER_REVOCATION_REASON },
      { name: holderActorName(claims.sub), requestId: request.requestId },
    )
    return {
      revoked: true,
      jti: claims.jti,
      subject: claims.sub,
      revocationId: outcome.revocation.id,
      alreadyRevoked: outcome.alreadyRevoked,
    }
  }
}
