-- Registrations as operators see them: last_seen (set at the first attestation, moved at every one
-- admitted since) already says when an instance last attested. The tidy forgets registrations unused
-- for `registrations.tidyAfterDays`, oldest first, and operators list by when instances were last seen:
-- both read this index.
CREATE INDEX instance_registrations_last_seen_idx ON instance_registrations (last_seen);
