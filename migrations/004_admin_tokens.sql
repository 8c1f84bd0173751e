-- Admin tokens scoped to roles, beside the bootstrap token from the configuration. Only a SHA-256 of
-- each token is kept: the token itself is shown once, when it is made.
CREATE TABLE admin_tokens (
  id           uuid PRIMARY KEY,
  name         text NOT NULL,
  token_sha256 text NOT NULL UNIQUE,
  roles        text[] NOT NULL,
  created_at   timestamptz NOT NULL,
  created_by   text NOT NULL,
  expires_at   timestamptz,
  revoked_at   timestamptz,
  revoked_by   text
);
CREATE UNIQUE INDEX admin_tokens_name_idx ON admin_tokens (name) WHERE revoked_at IS NULL;
