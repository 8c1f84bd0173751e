-- The incident view (GET /v1/ledger): newest first, filtered by subject glob, grant, source, audience,
-- time and liveness. IF NOT EXISTS so an operator with a large ledger can build these beforehand with
-- CREATE INDEX CONCURRENTLY (same names and definitions) instead of blocking issuance while this runs.

-- Newest first and the cursor's (issued_at, jti) < (...) comparison: one backward scan.
CREATE INDEX IF NOT EXISTS ledger_issued_idx ON ledger (issued_at, jti);

-- Which tokens a grant allowed, which came from an attestation source: array containment (@>).
CREATE INDEX IF NOT EXISTS ledger_grant_ids_idx ON ledger USING gin (grant_ids);
CREATE INDEX IF NOT EXISTS ledger_sources_idx ON ledger USING gin (sources);

-- Subject globs are anchored regexes; text_pattern_ops lets their literal prefix use the index whatever
-- the database collation, and still answers equality. It replaces the equality-only subject index.
CREATE INDEX IF NOT EXISTS ledger_subject_pattern_idx ON ledger (subject text_pattern_ops, issued_at, jti);
DROP INDEX IF EXISTS ledger_subject_idx;
