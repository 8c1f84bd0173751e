/** Grant type identifiers: the one grant Seed STS serves (RFC 8693 section 2.1). A leaf, like token-types.ts. */
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange'
