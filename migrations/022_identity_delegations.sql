-- The inventory's delegations (issue 14, README "Least privilege"): who acted for whom. One row per
-- subject and current actor (a delegated token's `act.sub`, the ledger's actors[1]), rolled up from
-- the ledger as identity_access is (src/inventory/inventory-recorder.ts), in the same transaction.
-- Expand only: a new table; a replica of the previous release keeps writing the other roll-ups
-- without it (and issues no delegated tokens).
--
-- The actor is kept as its SPIFFE ID, not an identity's id: an actor may never have got a token of its
-- own (an agent acting with an attestation). identity_delegations_actor_idx answers what an actor
-- acted for; neither index covers tokens or last_seen, so the roll-up's updates stay HOT.
SET LOCAL lock_timeout = '500ms';

CREATE TABLE identity_delegations (
  identity_id bigint NOT NULL,
  first_seen  timestamptz NOT NULL,
  last_seen   timestamptz NOT NULL,
  tokens      bigint NOT NULL,
  actor       text NOT NULL,
  PRIMARY KEY (identity_id, actor)
);
CREATE INDEX identity_delegations_actor_idx ON identity_delegations (actor, identity_id);
