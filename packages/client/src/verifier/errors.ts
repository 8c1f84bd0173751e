/** What can be revoked, as the STS names it: a token (its `jti`), a subject (or a glob of them), a grant, an attestation source, a signing key. */
export type RevocationKind = 'token' | 'subject' | 'grant' | 'source' | 'key'

/**
 * Why a token was refused, stable to switch on (the message is for people and may change):
 * - `token_malformed`: not a compact JWS with a JSON header and claims, or longer than 8 KB;
 * - `algorithm_not_accepted`: signed with another algorithm than ES256 or EdDSA;
 * - `type_not_accepted`: its header's `typ` is not `at+jwt` (RFC 9068), or it has a header the verifier refuses (`crit`, `b64`);
 * - `key_unknown`: no key of the issuer's JWKS has its `kid`, even after a refetch;
 * - `signature_invalid`: the signature does not verify;
 * - `issuer_mismatch`, `audience_mismatch`: `iss` is not the issuer, `aud` none of the audiences;
 * - `token_expired`, `token_not_yet_valid`: `exp` has passed, or `nbf`/`iat` are in the future (beyond the clock tolerance);
 * - `token_lifetime_too_long`: `exp - iat` is longer than `maxTokenLifetimeSeconds`;
 * - `claim_missing`: a claim the contract requires is absent or malformed (`sub`, `jti`, `client_id`, `grants`, `src_h`...), or one
 *   the token has is not of the shape the STS mints (`act`, `ancestor_jtis`);
 * - `token_revoked`: revoked, by any kind (`revokedBy` says which);
 * - `scope_missing`: valid, but without every required scope (`insufficient_scope`, 403);
 * - `token_bound`: a DPoP-bound token (`cnf.jkt`) presented as a bearer token (RFC 9449 section 7.2);
 * - `token_not_bound`: a token without `cnf.jkt` presented with the DPoP scheme;
 * - `dpop_proof_missing`, `dpop_proof_invalid`, `dpop_key_mismatch`, `dpop_proof_replayed`: the DPoP
 *   proof of a bound token is absent, faulty (type, algorithm, signature, htm, htu, iat, ath), made
 *   with another key than the token's, or already used (`invalid_dpop_proof`, RFC 9449 section 7.1).
 */
export type TokenRefusal =
  | 'token_malformed'
  | 'algorithm_not_accepted'
  | 'type_not_accepted'
  | 'key_unknown'
  | 'signature_invalid'
  | 'issuer_mismatch'
  | 'audience_mismatch'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'token_lifetime_too_long'
  | 'claim_missing'
  | 'token_revoked'
  | 'scope_missing'
  | 'token_bound'
  | 'token_not_bound'
  | 'dpop_proof_missing'
  | 'dpop_proof_invalid'
  | 'dpop_key_mismatch'
  | 'dpop_proof_replayed'

/**
 * A token the verifier refuses: the caller (or the adapters) answers 401 with RFC 6750's
 * `invalid_token`, or 403 with `insufficient_scope` for a valid token that lacks a required scope.
 *
 * @example
 * try {
 *   await verifier.verify(token, { scopes: ['ledger:write'] })
 * } catch (error) {
 *   if (error instanceof TokenRefusedError && error.code === 'token_revoked') log.warn({ by: error.revokedBy }, 'revoked token used')
 *   throw error
 * }
 */
export class TokenRefusedError extends Error {
  override readonly name = 'TokenRefusedError'
  /** The RFC 6750 (or RFC 9449 section 7.1) error code to answer with. */
  readonly error: 'invalid_token' | 'insufficient_scope' | 'invalid_dpop_proof'
  /** The HTTP status to answer with: 401, or 403 for `insufficient_scope`. */
  readonly status: 401 | 403

  constructor(
    readonly code: TokenRefusal,
    message: string,
    readonly details: {
      /** For `token_revoked`: the kind of the revocation that matched. */
      revokedBy?: RevocationKind
      /** For `scope_missing`: every scope the request needed (for the challenge's `scope`). */
      requiredScopes?: readonly string[]
    } = {},
  ) {
    super(message)
    this.error = code === 'scope_missing' ? 'insufficient_scope' : code.startsWith('dpop_') ? 'invalid_dpop_proof' : 'invalid_token'
    this.status = code === 'scope_missing' ? 403 : 401
  }

  get revokedBy(): RevocationKind | undefined {
    return this.details.revokedBy
  }
}

/** `claim_missing`: a claim the contract requires is absent, or not of the shape the STS mints. */
export function malformedClaims(what: string): TokenRefusedError {
  return new TokenRefusedError('claim_missing', `the token's claims are not as Seed STS mints them: ${what}`)
}

/**
 * The verifier cannot decide now, through no fault of the token: the issuer's keys cannot be fetched
 * (`jwks_unavailable`), every DPoP proof jti it may remember is still in its window
 * (`dpop_replay_record_full`), or the revocation stream has been lost for longer than the caller allows
 * (`revocations_unavailable`, with `onStreamLost: { refuseAfterMs }`). Answer 503; the adapters add
 * `Retry-After`.
 */
export class VerifierUnavailableError extends Error {
  override readonly name = 'VerifierUnavailableError'
  readonly status = 503

  constructor(
    readonly code: 'jwks_unavailable' | 'revocations_unavailable' | 'dpop_replay_record_full',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}
