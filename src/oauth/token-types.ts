/**
 * Token type identifiers of RFC 8693 section 3: what a token exchange says a token is. A leaf:
 * anything may import it, and it imports nothing of ours. Types of our own for attestations that are
 * not JWTs (AWS, Azure) belong to their attestor kind (src/attestors/<kind>/).
 */
export const TOKEN_TYPE = {
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
} as const

/** The types a JWT attestation may be presented as (projected SA tokens, OIDC ID tokens): routed by `iss`. */
export const JWT_TOKEN_TYPES: readonly string[] = [TOKEN_TYPE.jwt, TOKEN_TYPE.idToken]
