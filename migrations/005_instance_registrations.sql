-- Instance registrations: an instance identity document does not expire, so whoever copies one could
-- present it forever. The first attestation of an instance registers it, with a SHA-256 of a nonce the
-- instance chose; later attestations must present the same nonce (or none are allowed at all).
CREATE TABLE instance_registrations (
  attestor      text NOT NULL,
  instance      text NOT NULL,
  nonce_sha256  text,
  first_seen    timestamptz NOT NULL,
  last_seen     timestamptz NOT NULL,
  last_address  text,
  attestations  bigint NOT NULL DEFAULT 1,
  PRIMARY KEY (attestor, instance)
);
