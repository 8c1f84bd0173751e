-- Revocation changes numbered in commit order. Pollers and streams resume after the last position they
-- read (seq > N); with numbers taken straight from the sequence, a revocation whose transaction took
-- N and committed after one that took N+1 was never seen by a reader that had already moved to N+1: a
-- resource server polling could miss a revocation for good.
--
-- As for grants (010): every insert or update of a revocation takes a transaction-level advisory lock,
-- held until its transaction ends, and then its number, so a number is only taken once every
-- transaction holding a lower one has ended. Writes of revocations are serialised; they are made by
-- responders and by the service's own bulk revocations, one statement each, so this costs nothing
-- that matters. The trigger numbers every write, so the column default goes: it would only take a
-- number the trigger then replaces, leaving gaps.
--
-- Expand only: replicas of the previous release keep inserting and lifting (their explicit
-- nextval on a lift is replaced by the trigger's), and their writes are ordered too.
-- Waits at most half a second for the revocations table (the trigger and the ALTER lock it): see 011.
SET LOCAL lock_timeout = '500ms';


-- 7305553014: ADVISORY_LOCKS.revocationChanges in src/db/advisory-locks.ts, where every lock id of the service is.
CREATE FUNCTION revocation_change_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7305553014);
  NEW.seq := nextval('revocation_seq');
  RETURN NEW;
END
$$;

CREATE TRIGGER revocations_change_number BEFORE INSERT OR UPDATE ON revocations FOR EACH ROW EXECUTE FUNCTION revocation_change_number();

ALTER TABLE revocations ALTER COLUMN seq DROP DEFAULT;
