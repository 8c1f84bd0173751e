/** Asymmetric JWS algorithms only: an HMAC "key" would be a secret the issuer shares with everybody. */
export const JWS_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const
export type JwsAlgorithm = (typeof JWS_ALGORITHMS)[number]
