-- The key each token was signed with, so an emergency revocation of a key can say how many live tokens
-- it cuts off and responders can list them. Expand only and catalog-only: a nullable column with no
-- default on the partitioned table (and so on every partition) rewrites nothing; replicas of the
-- previous release insert without it (NULL: unknown), as do rows moved from ledger_legacy.
SET LOCAL lock_timeout = '500ms';

ALTER TABLE ledger_entries ADD COLUMN kid text;
