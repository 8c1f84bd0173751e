-- DPoP (RFC 9449). Expand only and catalog-only: each column is nullable or has a constant default,
-- which rewrites nothing, so replicas of the previous release keep reading and writing both tables.
--
-- grants.require_dpop: tokens the grant contributes to must be bound to a DPoP key. A replica of the
-- previous release neither reads it nor writes it (its UPDATE leaves it as it is).
--
-- ledger_entries.jkt: the RFC 7638 thumbprint of the key a token is bound to (its `cnf.jkt`); NULL for
-- a bearer token and for rows written by the previous release, which issues no bound tokens. Not in
-- the hash chain's canonical row (README, "Tamper evidence"): the batch form stays v1.
SET LOCAL lock_timeout = '500ms';

ALTER TABLE grants ADD COLUMN require_dpop boolean NOT NULL DEFAULT false;
ALTER TABLE ledger_entries ADD COLUMN jkt text;
