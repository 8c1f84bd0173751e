-- Admin token names are unique for good, and never the names the service acts under: the audit log
-- names the actor by name, so a name must point at one token forever, and `bootstrap` (the
-- configured token) and `seed-sts` (the service's own automatic actions) must not be anyone else's.
-- The API refuses such names now; rows made before are renamed `<name>~<id>` (a form the API cannot
-- make), so nothing is dropped and the token keeps working. Their audit entries from before keep the
-- old name.
UPDATE admin_tokens SET name = name || '~' || id WHERE name IN ('bootstrap', 'seed-sts', 'unknown');
-- Of tokens sharing a name, the live one (or else the newest) keeps it.
UPDATE admin_tokens AS t SET name = t.name || '~' || t.id
  WHERE t.revoked_at IS NOT NULL
    AND EXISTS (
      SELECT 1 FROM admin_tokens AS o
      WHERE o.name = t.name AND o.id <> t.id
        AND (o.revoked_at IS NULL OR (o.created_at, o.id) > (t.created_at, t.id))
    );
DROP INDEX admin_tokens_name_idx;
CREATE UNIQUE INDEX admin_tokens_name_idx ON admin_tokens (name);
