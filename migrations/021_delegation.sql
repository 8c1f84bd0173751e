-- Delegation and downscoping (RFC 8693). Expand only and catalog-only: each column is nullable or has
-- a constant default, which rewrites nothing, so replicas of the previous release keep reading and
-- writing both tables.
--
-- grants.may_act: SPIFFE ID globs of the workloads that may act for the grant's subjects (an
-- `actor_token`). Empty: nobody may. A replica of the previous release neither reads it nor writes it
-- (its UPDATE leaves it as it is), and it issues no delegated tokens.
--
-- ledger_entries.parent_jti: the jti of our own access token this one was exchanged from (its
-- `subject_token`), so a token narrowed from another is found from it, and dies with it.
-- ledger_entries.ancestor_jtis: every token of ours this one derives from, directly or not (its
-- parent's, and the actor token's when the actor presented one of ours): revoking any of them revokes
-- it. ledger_entries.actors: the delegation chain, the current actor first (the token's `act`, nested
-- outward in). ledger_entries.actor_sources: the attestation sources of the actors (a compromised node
-- revoked as a source cuts the tokens its agents hold for others too); `sources` stays the subject's.
-- ledger_entries.actor_grant_ids: the grants of the actors' own tokens presented as `actor_token`,
-- apart from `grant_ids` (the subject's grants, which gave the token what it carries). All NULL for a token exchanged from an attestation by the workload itself, and for rows
-- written by the previous release. Not in the hash chain's canonical row (README, "Tamper evidence"),
-- like jkt: the signed token carries them, and introspection refuses a token whose claims disagree.
SET LOCAL lock_timeout = '500ms';

ALTER TABLE grants ADD COLUMN may_act text[] NOT NULL DEFAULT '{}';
ALTER TABLE ledger_entries ADD COLUMN parent_jti uuid;
ALTER TABLE ledger_entries ADD COLUMN ancestor_jtis uuid[];
ALTER TABLE ledger_entries ADD COLUMN actors text[];
ALTER TABLE ledger_entries ADD COLUMN actor_sources text[];
ALTER TABLE ledger_entries ADD COLUMN actor_grant_ids uuid[];
