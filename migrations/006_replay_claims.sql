-- Single-use attestations: the claim on one is a row, so that it survives a Redis that lost its data
-- (Redis may answer "already used" first, but this table is the record). A row is kept until the
-- attestation could no longer be accepted anyway; expired rows may be claimed again, and are pruned.
CREATE TABLE attestation_claims (
  key         text PRIMARY KEY,
  expires_at  timestamptz NOT NULL
);
CREATE INDEX attestation_claims_expires_at ON attestation_claims (expires_at);
