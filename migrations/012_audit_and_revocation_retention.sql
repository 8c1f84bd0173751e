-- Retention of the audit log and of revocations (README, "Retention").
--
-- How far each log has been pruned: the highest position (audit entry id, revocation seq) removed.
-- A cursor below it may have missed something pruned, and is answered 410 Gone instead of a page
-- with a silent gap. It moves in the same transaction as the rows it accounts for.
-- The attach below reads the whole old audit table: no statement timeout for it (the pool's is 5 s),
-- but at most half a second of waiting for a lock, as in 011.
SET LOCAL statement_timeout = 0;
SET LOCAL lock_timeout = '500ms';

CREATE TABLE retention_watermarks (
  log            text PRIMARY KEY CHECK (log IN ('audit', 'revocations')),
  pruned_through bigint NOT NULL DEFAULT 0
);
INSERT INTO retention_watermarks (log) VALUES ('audit'), ('revocations');

-- The audit log becomes partitioned by month of `at`. Expand only: the table keeps its name and its
-- columns, so replicas of the previous release, which insert into `audit_log` and read it by id,
-- keep working during a rolling restart. The existing table is not copied: it is renamed and
-- attached whole as the partition of everything before the next month boundary, and keeps its own
-- indexes (its primary key on id serves its pages). Attaching checks `at` against that bound with
-- one scan of the old table; audit writes (admin changes, never token issuance) wait for it.
-- Monthly partitions after that are made ahead of time by the service (src/audit/), which reads
-- their bounds from their names: audit_log_YYYY_MM holds that month (UTC), audit_log_before_YYYY_MM
-- everything before it. audit_log_default catches a row no partition covers, so an audit write
-- never fails for want of a partition; the service moves such rows into their month's partition.
DO $$
DECLARE
  -- The first month boundary after every existing row and after now (UTC), so every row fits.
  boundary timestamp := date_trunc('month', greatest(now(), (SELECT max(at) FROM audit_log)) AT TIME ZONE 'UTC') + interval '1 month';
  legacy text := 'audit_log_before_' || to_char(boundary, 'YYYY_MM');
BEGIN
  ALTER TABLE audit_log RENAME TO audit_log_unpartitioned;
  ALTER INDEX audit_log_pkey RENAME TO audit_log_unpartitioned_pkey;
  ALTER INDEX audit_log_target_idx RENAME TO audit_log_unpartitioned_target_idx;
  -- The sequence outlives the old table, which retention drops one day.
  ALTER SEQUENCE audit_log_id_seq OWNED BY NONE;

  CREATE TABLE audit_log (
    id          bigint NOT NULL DEFAULT nextval('audit_log_id_seq'),
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    action      text NOT NULL,
    target_type text NOT NULL,
    target_id   text NOT NULL,
    before      jsonb,
    after       jsonb,
    request_id  text
  ) PARTITION BY RANGE (at);
  ALTER SEQUENCE audit_log_id_seq OWNED BY audit_log.id;
  -- ON ONLY: the old table's own index is attached below rather than built again.
  CREATE INDEX audit_log_target_idx ON ONLY audit_log (target_type, target_id, id);

  EXECUTE format('ALTER TABLE audit_log ATTACH PARTITION audit_log_unpartitioned FOR VALUES FROM (MINVALUE) TO (%L)',
    boundary AT TIME ZONE 'UTC');
  ALTER INDEX audit_log_target_idx ATTACH PARTITION audit_log_unpartitioned_target_idx;
  EXECUTE format('ALTER TABLE audit_log_unpartitioned RENAME TO %I', legacy);
  EXECUTE format('ALTER INDEX audit_log_unpartitioned_pkey RENAME TO %I', legacy || '_pkey');
  EXECUTE format('ALTER INDEX audit_log_unpartitioned_target_idx RENAME TO %I', legacy || '_target_idx');

  CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;
  -- Pages are read by id: every partition but the old table (which has its primary key) gets this.
  CREATE UNIQUE INDEX audit_log_default_id_idx ON audit_log_default (id);
END $$;
