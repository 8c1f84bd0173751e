-- The ledger, partitioned by issued_at (README, "Upgrading": 011). Expand only, so replicas of the
-- previous release keep working during a rolling restart:
--   * the unpartitioned table stays as ledger_legacy, untouched (no rewrite, no index build); this
--     release reads it beside the partitions and moves its rows into them in the background, in
--     small transactions, until it is empty (a later release drops it);
--   * ledger_entries is the partitioned table, with cheaper rows (uuid jti, bytea fingerprint) and
--     only the indexes the documented queries need, each partition-local;
--   * `ledger` becomes a view in the previous release's shape over both, whose inserts go into the
--     partitions: a previous replica writes where this release reads, and reads what it writes.
-- Every statement here is catalog-only; the rename waits at most lock_timeout for the table, so a
-- long query on the old ledger makes this migration fail (and the instance retry at its next start)
-- rather than hold up issuance behind it.
SET LOCAL lock_timeout = '500ms';

ALTER TABLE ledger RENAME TO ledger_legacy;

-- Fixed-width columns first, so no alignment padding sits between them.
CREATE TABLE ledger_entries (
  issued_at               timestamptz NOT NULL,
  expires_at              timestamptz NOT NULL,
  jti                     uuid NOT NULL,
  subject                 text NOT NULL,
  attestor                text NOT NULL,
  attestor_kind           text NOT NULL,
  -- The 32 bytes of SHA-256; the API shows them in base64url as before.
  attestation_fingerprint bytea NOT NULL,
  sources                 text[] NOT NULL,
  audience                text NOT NULL,
  scopes                  text[] NOT NULL,
  grant_ids               uuid[] NOT NULL,
  client_address          text,
  request_id              text,
  -- A jti names its partition (UUIDv7): lookups add the issued_at range its time allows.
  PRIMARY KEY (jti, issued_at)
) PARTITION BY RANGE (issued_at);

-- Newest first (issued_at is whole seconds: deduplicated, the index costs a few bytes a row).
CREATE INDEX ledger_entries_issued_idx ON ledger_entries (issued_at);
-- A window of issue times for the selective searches (src/ledger/issue-time-windows.ts), intersected
-- with the filter's own index. Rows are written in issue order, so a block range's summary is tight,
-- and the index costs next to nothing (16 KB for 10 million rows). A range is summarised as soon as
-- it is full (autosummarize), not at the next vacuum: an unsummarised range matches every window, and
-- the newest ranges are the ones searches read most.
CREATE INDEX ledger_entries_issued_brin ON ledger_entries USING brin (issued_at) WITH (autosummarize = on);
-- Subject equality and the literal prefix of a subject glob, whatever the collation; issued_at in the
-- key bounds a search's window of issue times inside the index, so only the window's rows are read
-- however few rows the planner expects of the prefix (a namespace's range within one histogram
-- bucket is estimated at one row, and a subject-only index then reads every match of the partition).
CREATE INDEX ledger_entries_subject_idx ON ledger_entries (subject text_pattern_ops, issued_at);
-- An audience's tokens: deduplicated, a few bytes a row; the window comes from the BRIN index.
CREATE INDEX ledger_entries_audience_idx ON ledger_entries (audience);
-- Which tokens a grant allowed, which came from an attestation source: containment (@>).
CREATE INDEX ledger_entries_grant_ids_idx ON ledger_entries USING gin (grant_ids);
CREATE INDEX ledger_entries_sources_idx ON ledger_entries USING gin (sources);

-- Where retention has dropped partitions: a search cursor before this answers 410 Gone.
CREATE TABLE ledger_retention (
  singleton      boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  dropped_before timestamptz NOT NULL
);

-- base64url (unpadded, as the service writes fingerprints) to bytes and back.
CREATE FUNCTION ledger_fingerprint_bytes(fingerprint text) RETURNS bytea
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT decode(rpad(translate(fingerprint, '-_', '+/'), (length(fingerprint) + 3) / 4 * 4, '='), 'base64') $$;
CREATE FUNCTION ledger_fingerprint_text(fingerprint bytea) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT rtrim(translate(encode(fingerprint, 'base64'), E'+/\n', '-_'), '=') $$;

-- The previous release's ledger. Its jti is uuid here: a previous replica's `jti = $1` then uses the
-- partitions' index (its jtis are all UUIDs); the legacy half is read by a scan, which costs less as
-- the background move empties it.
CREATE VIEW ledger AS
  SELECT jti, subject, attestor, attestor_kind, ledger_fingerprint_text(attestation_fingerprint) AS attestation_fingerprint,
         sources, audience, scopes, grant_ids, issued_at, expires_at, client_address, request_id
    FROM ledger_entries
  UNION ALL
  SELECT jti::uuid, subject, attestor, attestor_kind, attestation_fingerprint,
         sources, audience, scopes, grant_ids, issued_at, expires_at, client_address, request_id
    FROM ledger_legacy;

CREATE FUNCTION ledger_insert_from_previous_release() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
BEGIN
  INSERT INTO ledger_entries (issued_at, expires_at, jti, subject, attestor, attestor_kind, attestation_fingerprint,
                              sources, audience, scopes, grant_ids, client_address, request_id)
  VALUES (NEW.issued_at, NEW.expires_at, NEW.jti, NEW.subject, NEW.attestor, NEW.attestor_kind,
          ledger_fingerprint_bytes(NEW.attestation_fingerprint), COALESCE(NEW.sources, '{}'), NEW.audience, NEW.scopes,
          NEW.grant_ids, NEW.client_address, NEW.request_id);
  RETURN NEW;
END
$$;
CREATE TRIGGER ledger_insert INSTEAD OF INSERT ON ledger
  FOR EACH ROW EXECUTE FUNCTION ledger_insert_from_previous_release();

-- The partitions around now, so a previous replica (which cannot create one) has somewhere to write
-- before this release's maintenance runs. Named and bounded as src/ledger/ledger-partitions.ts does.
DO $$
DECLARE
  day date;
BEGIN
  FOR day IN SELECT generate_series((now() AT TIME ZONE 'UTC')::date - 1, (now() AT TIME ZONE 'UTC')::date + 2, interval '1 day')::date LOOP
    EXECUTE format(
      'CREATE TABLE %I PARTITION OF ledger_entries FOR VALUES FROM (%L) TO (%L)',
      'ledger_entries_d' || to_char(day, 'YYYYMMDD'),
      to_char(day, 'YYYY-MM-DD') || ' 00:00:00+00',
      to_char(day + 1, 'YYYY-MM-DD') || ' 00:00:00+00'
    );
  END LOOP;
END
$$;
