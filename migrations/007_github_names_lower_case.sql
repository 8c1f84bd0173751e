-- GitHub compares owner, repository, actor and environment names without regard to case, and the
-- service now writes them in lower case wherever they name something: in SPIFFE IDs
-- (spiffe://<td>/github/<owner>/<repo>), source ids (github:<owner>, github:<owner>/<repo>) and the
-- claims grant conditions match. Rows written before hold GitHub's mixed case; this brings them to the
-- one spelling so every grant, revocation and ledger search keeps matching.
-- Only the github.com namespace (`github/...`, `github:...`) is known here: an attestor for another
-- GitHub issuer mints under its own name from now on, and its names are lower-case from the start.

CREATE FUNCTION sts_007_github_claim(claim text, value text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN claim IN ('repository', 'repository_owner', 'actor', 'environment') THEN lower(value)
    -- <owner>/<repo>/<path>@<ref>: the repository is case-insensitive, the path and ref are not.
    WHEN claim IN ('workflow_ref', 'job_workflow_ref') AND value ~ '^[^/]*/[^/]*/'
      THEN lower(substring(value FROM '^([^/]*/[^/]*)/')) || substring(value FROM '^[^/]*/[^/]*(/.*)$')
    ELSE value
  END
$$;

CREATE FUNCTION sts_007_github_conditions(conditions jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(jsonb_object_agg(c.key, CASE jsonb_typeof(c.value)
      WHEN 'string' THEN to_jsonb(sts_007_github_claim(c.key, c.value #>> '{}'))
      WHEN 'array' THEN (
        SELECT jsonb_agg(CASE WHEN jsonb_typeof(e) = 'string' THEN to_jsonb(sts_007_github_claim(c.key, e #>> '{}')) ELSE e END ORDER BY i)
        FROM jsonb_array_elements(c.value) WITH ORDINALITY AS a(e, i))
      ELSE c.value
    END), '{}'::jsonb)
  FROM jsonb_each(conditions) AS c
$$;

-- Grants for GitHub identities: the subject (a SPIFFE ID or a glob of them) and the conditions on
-- GitHub's case-insensitive claims. A changed grant gets a new version, as an edit through the API would.
UPDATE grants
SET subject = lower(subject), conditions = sts_007_github_conditions(conditions), version = version + 1, updated_at = now()
WHERE subject ~ '^spiffe://[^/]+/github/'
  AND (subject <> lower(subject) OR conditions <> sts_007_github_conditions(conditions));

-- Revocations: two standing ones that become the same (github:ACME and github:acme) are one; the later
-- is lifted, saying which one stands for it, so the unique standing index holds.
UPDATE revocations AS r
SET lifted_at = now(), lifted_by = 'migration 007',
    lift_reason = 'the same as revocation ' || (
      SELECT o.id::text FROM revocations AS o
      WHERE o.lifted_at IS NULL AND o.kind = r.kind AND lower(o.value) = lower(r.value) AND (o.created_at, o.id) < (r.created_at, r.id)
      ORDER BY o.created_at, o.id LIMIT 1) || ' once GitHub names are lower-case',
    seq = nextval('revocation_seq')
WHERE r.lifted_at IS NULL
  AND ((r.kind = 'source' AND r.value LIKE 'github:%') OR (r.kind = 'subject' AND r.value ~ '^spiffe://[^/]+/github/'))
  AND EXISTS (
    SELECT 1 FROM revocations AS o
    WHERE o.lifted_at IS NULL AND o.kind = r.kind AND lower(o.value) = lower(r.value) AND (o.created_at, o.id) < (r.created_at, r.id));

UPDATE revocations
SET value = lower(value), seq = nextval('revocation_seq')
WHERE ((kind = 'source' AND value LIKE 'github:%') OR (kind = 'subject' AND value ~ '^spiffe://[^/]+/github/'))
  AND value <> lower(value);

-- The ledger: subjects and sources of tokens already issued, so a search or a revocation finds them.
UPDATE ledger
SET subject = CASE WHEN subject ~ '^spiffe://[^/]+/github/' THEN lower(subject) ELSE subject END,
    sources = ARRAY(SELECT CASE WHEN s LIKE 'github:%' THEN lower(s) ELSE s END FROM unnest(sources) WITH ORDINALITY AS u(s, i) ORDER BY i)
WHERE (subject ~ '^spiffe://[^/]+/github/' AND subject <> lower(subject))
   OR EXISTS (SELECT 1 FROM unnest(sources) AS u(s) WHERE s LIKE 'github:%' AND s <> lower(s));

DROP FUNCTION sts_007_github_conditions(jsonb);
DROP FUNCTION sts_007_github_claim(text, text);
