-- Grant changes, in the order they committed: every instance loads the active grants once, then reads
-- only what changed since the last position it applied (seq > last), woken by the change feed.
--
-- Every insert or update of a grant (through the service or by hand in SQL) takes the next `seq`
-- from a trigger, and a hand-made DELETE leaves a row in grant_deletions with its own `seq`.
-- Before it takes a number, the trigger takes one transaction-level advisory lock, held until its
-- transaction ends: grant writes are serialised, so a transaction can only take a number once every
-- transaction holding a lower one has committed or rolled back. A reader that saw position N can
-- therefore never meet a change committed later with a number at or below N. Grant writes are rare
-- (the admin API), so the serialisation costs nothing that matters.
--
-- Expand only: replicas of the previous release keep writing grants (the trigger numbers their
-- writes) and keep polling them as before.
-- Waits at most half a second for the grants table (the ALTERs and triggers lock it), so a long query on it
-- makes the migration fail and the instance retry at its next start rather than hold grant reads behind it.
SET LOCAL lock_timeout = '500ms';

CREATE SEQUENCE grant_change_seq;

-- Existing grants are numbered in no particular order (an instance reads them all at start): the
-- volatile default fills every row, then goes, and the trigger numbers every write from here on.
ALTER TABLE grants ADD COLUMN seq bigint NOT NULL DEFAULT nextval('grant_change_seq');
ALTER TABLE grants ALTER COLUMN seq DROP DEFAULT;
CREATE UNIQUE INDEX grants_seq_idx ON grants (seq);

-- Grants are disabled, never deleted, by the service; a row deleted by hand must still reach every instance.
CREATE TABLE grant_deletions (
  seq        bigint PRIMARY KEY,
  id         uuid NOT NULL,
  deleted_at timestamptz NOT NULL DEFAULT now()
);

-- 7305553010: ADVISORY_LOCKS.grantChanges in src/db/advisory-locks.ts, where every lock id of the service is.
CREATE FUNCTION grant_change_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7305553010);
  NEW.seq := nextval('grant_change_seq');
  RETURN NEW;
END
$$;

CREATE FUNCTION grant_deletion_record() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7305553010);
  INSERT INTO grant_deletions (seq, id) VALUES (nextval('grant_change_seq'), OLD.id);
  RETURN OLD;
END
$$;

CREATE TRIGGER grants_change_number BEFORE INSERT OR UPDATE ON grants FOR EACH ROW EXECUTE FUNCTION grant_change_number();
CREATE TRIGGER grants_deletion_record AFTER DELETE ON grants FOR EACH ROW EXECUTE FUNCTION grant_deletion_record();
