-- Admin tokens scoped to a team (src/admin-tokens/team-scope.ts): the grant owners it answers for and
-- the SPIFFE ID prefixes of the identities it manages. Both null: unrestricted, as every token made
-- before. Expand-only: nothing is renamed or dropped.
--
-- A replica of the release before ignores these columns, and would take a scoped token for an
-- unrestricted one during a rolling upgrade. So a scoped token's row keeps its SHA-256 in
-- token_sha256 as `scoped:<hex>`, a value that release never looks up: there the token is refused
-- (401) rather than widened, and it works on every replica once all run this release.
-- Catalog-only changes, but they wait for the table's lock: at most half a second, then fail for the
-- instance to retry at its next start rather than hold admin token lookups up behind a long query.
SET LOCAL lock_timeout = '500ms';

ALTER TABLE admin_tokens ADD COLUMN scope_owners text[];
ALTER TABLE admin_tokens ADD COLUMN scope_subject_prefixes text[];
ALTER TABLE admin_tokens ADD CONSTRAINT admin_tokens_scope_whole
  CHECK ((scope_owners IS NULL) = (scope_subject_prefixes IS NULL));
