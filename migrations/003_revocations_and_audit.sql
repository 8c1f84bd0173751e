-- Revocations: the durable copy. Redis holds the working set every instance reads; when Redis comes
-- back empty it is rebuilt from here. `seq` orders every change (a revocation, a lift) for the
-- revocation stream and for polling.
CREATE SEQUENCE revocation_seq;
CREATE TABLE revocations (
  id           uuid PRIMARY KEY,
  kind         text NOT NULL CHECK (kind IN ('token', 'subject', 'grant', 'source')),
  value        text NOT NULL,
  reason       text NOT NULL,
  created_at   timestamptz NOT NULL,
  created_by   text NOT NULL,
  expires_at   timestamptz,
  lifted_at    timestamptz,
  lifted_by    text,
  lift_reason  text,
  seq          bigint NOT NULL DEFAULT nextval('revocation_seq')
);
CREATE UNIQUE INDEX revocations_seq_idx ON revocations (seq);
-- One standing revocation per target: revoking again answers the one in force.
CREATE UNIQUE INDEX revocations_standing_idx ON revocations (kind, value) WHERE lifted_at IS NULL;

-- Audit log: every change made through the admin API, who made it, and the state before and after.
CREATE TABLE audit_log (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL,
  actor       text NOT NULL,
  action      text NOT NULL,
  target_type text NOT NULL,
  target_id   text NOT NULL,
  before      jsonb,
  after       jsonb,
  request_id  text
);
CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id, id);
