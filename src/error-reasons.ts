/**
 * Every machine-readable reason an error body can carry (`error_reason` in RFC 6749 bodies, `reason`
 * in RFC 9457 problems), with what it means. A client switches on these, never on the description:
 * once published, a reason keeps its name and meaning. README.md ("Error reasons") and openapi.yaml
 * (`ErrorReason`) list the same names; test/error-reasons.test.ts keeps the three in step.
 */
export const ERROR_REASONS = {
  // The token request itself (RFC 6749 section 5.2, RFC 8693 section 2.2.2).
  parameter_missing: 'a required parameter is missing or empty',
  parameter_repeated: 'a parameter that may appear once appears more than once',
  parameter_invalid: "a parameter's value is not valid",
  grant_type_unsupported: 'grant_type is not token exchange',
  resource_unsupported: 'resource is not supported: name the target service with audience',
  token_type_unsupported: 'no attestor is configured for this subject_token_type',
  scope_malformed: 'a requested scope is not a valid scope token',
  requested_lifetime_too_long: 'expires_in is longer than the grants allow for this token',
  media_type_unsupported: 'the body is not of the media type the endpoint takes',
  body_too_large: 'the body is larger than limits.maxBodyBytes',
  body_malformed: 'the body cannot be parsed as its media type',
  request_invalid: 'the request is malformed in a way no other reason names',

  // The attestation: its form, its signature, its claims.
  attestation_too_large: 'the attestation is larger than the attestor accepts',
  attestation_malformed: 'the attestation is not in the form its token type requires',
  algorithm_not_accepted: 'the attestation is signed with an algorithm, or a key type or size, that is not accepted',
  header_not_accepted: 'the attestation has a header that is refused (JWE, a key of its own, crit, b64)',
  key_unknown: 'no trusted key of the issuer can verify the attestation, or several could and it names none',
  signature_invalid: 'the signature of the attestation does not verify',
  certificate_untrusted: 'the certificate that signed the attestation does not chain to a configured root, or is not the one expected',
  certificate_expired: 'the certificate that signed the attestation has expired',
  certificate_not_yet_valid: 'the certificate that signed the attestation is not valid yet',
  issuer_unknown: "no attestor is configured for the attestation's issuer",
  issuer_mismatch: 'the attestation is not from the issuer its attestor verifies',
  audience_mismatch: 'the attestation is not addressed to this service',
  expiry_missing: 'the attestation has no expiry; only expiring attestations are accepted',
  token_expired: 'the attestation has expired',
  token_not_yet_valid: 'the attestation is not valid yet, or says it was issued in the future',
  token_lifetime_too_long: 'the attestation is valid for longer than its attestor accepts',
  attestation_too_old: 'the attested instance was launched longer ago than its attestor accepts',
  token_kind_not_accepted: "the attestation is of a kind its attestor does not take (a legacy or a user's token, a plain ID token)",
  claim_missing: 'the attestation lacks a claim or field its attestor requires',
  claim_invalid: 'a claim or field of the attestation is malformed or inconsistent',
  claim_not_allowed: "a claim is well formed but the attestor's policy does not accept its value (account, project, owner...)",

  // Replay protection and instance registrations.
  replayed: 'this single-use attestation was already used',
  nonce_required: 'the attestor requires a nonce, and none (or one too short) was sent',
  nonce_mismatch: 'the instance is registered with another nonce: the attestation may be a copy',
  instance_already_attested: 'the instance has attested already, and its attestor allows one attestation per instance',
  registration_changed: "the instance's registration changed while it attested: try again",
  address_mismatch: 'the attestation is bound to another client address',

  // DPoP (RFC 9449) proofs at the token endpoint.
  dpop_proof_invalid: 'the DPoP proof is malformed, or its type, algorithm, key, signature, jti, method, URL or time does not check out',
  dpop_proof_replayed: 'this DPoP proof (its key and jti) was already used',
  dpop_nonce_required: 'the DPoP proof must carry the nonce of the DPoP-Nonce header: none, or a stale one, was sent',
  dpop_required:
    'a grant the token would come from requires DPoP, or a token presented is DPoP-bound, and the request carries no DPoP proof',

  // Grants and revocations.
  not_granted: 'no grant allows this identity to get a token',
  audience_not_granted: 'the audience is not granted to this identity',
  scope_not_granted: 'a requested scope is not granted for the audience',
  audience_required: 'several audiences are granted and the request names none',
  revoked: 'the identity, a grant, an attestation source or the token is revoked',
  token_inactive: 'the subject_token or actor_token given as an access token is not an active access token of this service',
  audience_widened: 'a token exchanged from one of our access tokens keeps its audience: the request names another',
  scope_widened: 'a token exchanged from one of our access tokens can only narrow its scopes: the request names one it lacks',
  grant_inactive: 'a grant the presented access token came from is no longer active (disabled, deleted or expired)',
  dpop_key_mismatch: 'the presented token is bound to a DPoP key (cnf.jkt) and the DPoP proof is made with another key',
  actor_not_allowed: "no grant lets the actor act for this subject: the actor's identity matches none of their mayAct globs",
  actor_token_unusable:
    'the actor_token is an access token that is neither DPoP-bound nor issued for this service (aud = issuer), or is itself delegated',
  delegation_chain_too_long: 'the delegation chain would be longer than delegation.maxChainDepth',
  holder_key_proof_required: 'the token is bound to a key (cnf.jkt) and the request does not prove its holder has that key',

  // Admin authentication (the admin API and introspection).
  admin_token_missing: 'no admin bearer token was sent',
  admin_token_invalid: 'the admin token is unknown, revoked or expired',
  oidc_token_invalid:
    "the identity provider's token (admin.oidc) is not accepted: its signature, issuer, audience, type, algorithm, lifetime or name and groups claims",
  oidc_groups_unmapped: "the identity provider's token is valid, but none of its groups is mapped to roles in admin.oidc.groups",
  role_missing: 'the admin token does not have the role the operation needs',
  roles_beyond_own: 'an admin token cannot grant, or revoke a token with, roles it does not have itself',
  scope_beyond_own: 'a team-scoped admin token cannot make, or revoke, a token whose team scope is not within its own',
  out_of_team_scope: "the grant, identity or revocation is outside the admin token's team scope (its owners and subject prefixes)",

  // The admin API's resources.
  input_invalid: 'the body, query or path is not valid; `errors` lists every invalid field',
  route_not_found: 'no route has this method and path',
  grant_not_found: 'no grant has this id',
  grant_guardrail_denied: 'the grant breaks guardrails configured to deny it; `violations` names each rule and why, `errors` the fields',
  revocation_not_found: 'no (standing) revocation has this id',
  registration_not_found: 'no registration of this instance with this attestor',
  identity_not_found: 'no token was ever issued to this identity (since the inventory began)',
  admin_token_not_found: 'no usable admin token has this id',
  ledger_cursor_expired: 'the ledger cursor points into entries retention has dropped: list again from the first page (no cursor)',
  admin_token_name_taken: 'an admin token with this name exists or existed; names are never reused',
  if_match_required: 'the change needs If-Match with the ETag of what was read',
  version_mismatch: 'someone else changed it since it was read: read it again and retry',
  audit_cursor_pruned: 'the cursor is older than what audit retention kept: list again from the start (no cursor)',
  revocation_cursor_pruned:
    'the position is older than what revocation retention kept: resynchronise from a full listing (no cursor), then poll or stream from its cursor',
  key_not_found: 'no signing key has this kid',
  key_removed: 'the signing key was removed: it is no longer published and every token it signed has expired',
  key_revocation_permanent: 'a revoked signing key stays revoked: its revocation cannot be lifted (its private key is erased)',

  // Budgets.
  rate_limited: 'this client address sent more requests this minute than its budget allows',
  identity_rate_limited: 'this attested identity asked for more tokens this minute than its budget allows, from whatever addresses',
  too_many_auth_failures: 'this client address failed authentication too often this minute',

  // Faults we fail closed on (503): retry with backoff.
  ledger_unavailable: 'the token ledger cannot be read or written',
  grants_unavailable: 'the grants cannot be read or changed',
  grants_stale: "this instance's copy of the grants is out of date: it has not read the grant changes within the staleness bound",
  revocations_unavailable: 'revocation state cannot be checked or changed',
  replay_guard_unavailable: 'replay protection cannot be checked',
  registrations_unavailable: 'instance registrations cannot be checked or changed',
  audit_unavailable: 'the audit log cannot be read',
  admin_tokens_unavailable: 'the admin tokens cannot be read or changed',
  rate_limit_unavailable: 'the rate limit store cannot be reached',
  jwks_unavailable: "the issuer's signing keys cannot be fetched",
  keys_unavailable: "the service's own signing keys cannot be read or changed, or none is current",
  keys_stale:
    "this instance's copy of the signing keys is out of date (not read within keys.maxStalenessMs), or its signing key was just revoked",
  signer_unavailable: 'the hardware security module (PKCS#11 token) holding the signing keys cannot sign now',
  database_unavailable: 'the database is not reachable',
  shutting_down: 'this instance is shutting down: retry on another',
  overloaded:
    'this instance is overloaded (event-loop lag or utilization, or requests in flight, past their bounds): retry after Retry-After',
  service_unavailable: 'a store the request needs cannot answer',

  // Our own defect: nothing of it is shown.
  internal_error: 'the server failed; the detail is logged, never shown',
} as const

export type ErrorReason = keyof typeof ERROR_REASONS
