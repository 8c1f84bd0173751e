/**
 * The longest lifetime any token of the service can have, whatever the configuration says
 * (`tokens.maxTtlSeconds` and a grant's `maxTtlSeconds` are both refused above it). Ledger retention
 * relies on it: a partition whose period ended this long ago holds no live token, so none is read.
 */
export const MAX_TOKEN_LIFETIME_SECONDS = 86_400
