-- Signing keys in the database (README, "Signing keys"), so every replica publishes and signs with the
-- same keys: before, each replica read PEM files at start, and a replica restarted with a new key
-- signed tokens the others' JWKS did not have.
--
-- A key goes next -> current -> retired -> removed, or to revoked from any state but removed.
-- `next` is published and not yet used; `current` signs (one at most); `retired` no longer signs and
-- stays published until every token it signed has expired (remove_after); `removed` and `revoked`
-- are no longer published and their private key is gone (NULL). The times are what the rules of
-- src/keys/key-lifecycle.ts decide by.
--
-- private_key holds what the key's signer needs to sign: for the `software` signer, the PKCS#8 DER
-- sealed with AES-256-GCM under the key-encryption key named by kek_id (which is never stored); for
-- an HSM, a reference to the key inside it. Never the key in the clear.
--
-- Expand only: replicas of the previous release read PEM files and ignore this table.
SET LOCAL lock_timeout = '500ms';

CREATE TABLE signing_keys (
  kid           text PRIMARY KEY,
  algorithm     text NOT NULL CHECK (algorithm IN ('ES256', 'EdDSA')),
  state         text NOT NULL CHECK (state IN ('next', 'current', 'retired', 'removed', 'revoked')),
  public_jwk    jsonb NOT NULL,
  signer        text NOT NULL,
  private_key   bytea,
  kek_id        text,
  -- `generated` here, or `imported` from the PEM files of the release before.
  origin        text NOT NULL CHECK (origin IN ('generated', 'imported')),
  created_at    timestamptz NOT NULL,
  published_at  timestamptz NOT NULL,
  activated_at  timestamptz,
  retired_at    timestamptz,
  remove_after  timestamptz,
  removed_at    timestamptz,
  revoked_at    timestamptz,
  revoked_by    text,
  revoke_reason text,
  CHECK ((state IN ('removed', 'revoked')) = (private_key IS NULL))
);
-- At most one key signs, and at most one waits to.
CREATE UNIQUE INDEX signing_keys_one_current_idx ON signing_keys (state) WHERE state = 'current';
CREATE UNIQUE INDEX signing_keys_one_next_idx ON signing_keys (state) WHERE state = 'next';

-- A revocation of a signing key (value: its kid): every token it signed is refused, and verifiers that
-- follow the revocation stream drop the key. Made by POST /v1/keys/{kid}/revoke, never by POST /v1/revocations.
ALTER TABLE revocations DROP CONSTRAINT revocations_kind_check;
ALTER TABLE revocations ADD CONSTRAINT revocations_kind_check CHECK (kind IN ('token', 'subject', 'grant', 'source', 'key'));
