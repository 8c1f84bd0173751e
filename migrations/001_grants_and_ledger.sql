-- Grants: who may get which audiences and scopes, for how long, owned by whom.
CREATE TABLE grants (
  id              uuid PRIMARY KEY,
  subject         text NOT NULL,
  conditions      jsonb NOT NULL DEFAULT '{}'::jsonb,
  audiences       text[] NOT NULL,
  scopes          text[] NOT NULL,
  max_ttl_seconds integer NOT NULL CHECK (max_ttl_seconds > 0),
  owner           text NOT NULL,
  description     text NOT NULL DEFAULT '',
  expires_at      timestamptz NOT NULL,
  enabled         boolean NOT NULL DEFAULT true,
  version         integer NOT NULL DEFAULT 1,
  created_at      timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL
);
CREATE INDEX grants_list_idx ON grants (created_at, id);
CREATE INDEX grants_owner_idx ON grants (owner, created_at, id);

-- Ledger: one row per issued token, written before the token leaves the service.
-- The attestation itself is never stored, only a fingerprint of it.
CREATE TABLE ledger (
  jti                     text PRIMARY KEY,
  subject                 text NOT NULL,
  attestor                text NOT NULL,
  attestor_kind           text NOT NULL,
  attestation_fingerprint text NOT NULL,
  sources                 text[] NOT NULL DEFAULT '{}',
  audience                text NOT NULL,
  scopes                  text[] NOT NULL,
  grant_ids               uuid[] NOT NULL,
  issued_at               timestamptz NOT NULL,
  expires_at              timestamptz NOT NULL,
  client_address          text,
  request_id              text
);
CREATE INDEX ledger_subject_idx ON ledger (subject, issued_at DESC);
CREATE INDEX ledger_expires_idx ON ledger (expires_at);
CREATE INDEX ledger_fingerprint_idx ON ledger (attestation_fingerprint);
