import type { Database, Queryable } from '../db/database.js'
import { MAX_IDENTITY_SOURCES, type IdentityRollup } from './identity-rollup.js'

/**
 * The inventory's roll-ups (migrations 018 and 022), written behind the ledger: what the recorder gathered
 * (src/inventory/inventory-recorder.ts) is written in one transaction of its own, each table taking
 * one upsert. Every upsert takes its rows in key order, and the tables are always written in the same
 * order, so two instances upserting the same identities wait for each other rather than deadlock.
 * A row moves only forward: an update that would change nothing is skipped (its WHERE).
 */

// Sources are kept, newest first, as they were unless the batch brings a new one: then the batch's
// come first and the oldest fall off. An unchanged array keeps the update HOT (no index changes).
const UPSERT_IDENTITIES = `
  INSERT INTO identities AS i (subject, attestor, attestor_kind, sources, first_seen, last_seen)
  SELECT subject, attestor, attestor_kind, sources, first_seen, last_seen
  FROM jsonb_to_recordset($1::jsonb)
    AS b(subject text, attestor text, attestor_kind text, sources text[], first_seen timestamptz, last_seen timestamptz)
  ORDER BY subject USING ~<~
  ON CONFLICT (subject) DO UPDATE SET
    first_seen = LEAST(i.first_seen, EXCLUDED.first_seen),
    last_seen = GREATEST(i.last_seen, EXCLUDED.last_seen),
    attestor = CASE WHEN EXCLUDED.last_seen >= i.last_seen THEN EXCLUDED.attestor ELSE i.attestor END,
    attestor_kind = CASE WHEN EXCLUDED.last_seen >= i.last_seen THEN EXCLUDED.attestor_kind ELSE i.attestor_kind END,
    sources = CASE WHEN i.sources @> EXCLUDED.sources THEN i.sources ELSE (
      SELECT array_agg(source ORDER BY position) FROM (
        SELECT source, min(position) AS position
        FROM unnest(EXCLUDED.sources || i.sources) WITH ORDINALITY AS s(source, position)
        GROUP BY source ORDER BY min(position) LIMIT ${MAX_IDENTITY_SOURCES}
      ) AS kept
    ) END
  WHERE i.last_seen < EXCLUDED.last_seen OR i.first_seen > EXCLUDED.first_seen OR NOT i.sources @> EXCLUDED.sources`

const UPSERT_ACCESS = `
  INSERT INTO identity_access AS a (identity_id, grant_id, audience, scope, first_used, last_used)
  SELECT i.id, b.grant_id, b.audience, b.scope, b.first_used, b.last_used
  FROM jsonb_to_recordset($1::jsonb)
    AS b(subject text, grant_id uuid, audience text, scope text, first_used timestamptz, last_used timestamptz)
  JOIN identities i ON i.subject = b.subject
  ORDER BY i.id, b.grant_id, b.audience, b.scope
  ON CONFLICT (identity_id, grant_id, audience, scope) DO UPDATE SET
    first_used = LEAST(a.first_used, EXCLUDED.first_used),
    last_used = GREATEST(a.last_used, EXCLUDED.last_used)
  WHERE a.last_used < EXCLUDED.last_used OR a.first_used > EXCLUDED.first_used`

const UPSERT_DELEGATIONS = `
  INSERT INTO identity_delegations AS d (identity_id, actor, tokens, first_seen, last_seen)
  SELECT i.id, b.actor, b.tokens, b.first_seen, b.last_seen
  FROM jsonb_to_recordset($1::jsonb)
    AS b(subject text, actor text, tokens bigint, first_seen timestamptz, last_seen timestamptz)
  JOIN identities i ON i.subject = b.subject
  ORDER BY i.id, b.actor
  ON CONFLICT (identity_id, actor) DO UPDATE SET
    tokens = d.tokens + EXCLUDED.tokens,
    first_seen = LEAST(d.first_seen, EXCLUDED.first_seen),
    last_seen = GREATEST(d.last_seen, EXCLUDED.last_seen)`

const UPSERT_DAILY = `
  INSERT INTO identity_daily_tokens AS d (identity_id, day, tokens)
  SELECT i.id, b.day, b.tokens
  FROM jsonb_to_recordset($1::jsonb) AS b(subject text, day date, tokens bigint)
  JOIN identities i ON i.subject = b.subject
  ORDER BY i.id, b.day
  ON CONFLICT (identity_id, day) DO UPDATE SET tokens = d.tokens + EXCLUDED.tokens`

export class SqlIdentityRollups {
  constructor(private readonly db: Pick<Database, 'transaction'>) {}

  /** All of `rollup`, or (thrown as it came) nothing of it. */
  write(rollup: IdentityRollup): Promise<void> {
    return this.db.transaction((tx) => writeRollup(tx, rollup))
  }
}

async function writeRollup(tx: Queryable, rollup: IdentityRollup): Promise<void> {
  if (rollup.identities.length === 0) return
  // Identities first: the others find their ids by subject.
  await tx.query(UPSERT_IDENTITIES, [
    JSON.stringify(
      rollup.identities.map((row) => ({
        subject: row.subject,
        attestor: row.attestor,
        attestor_kind: row.attestorKind,
        sources: row.sources,
        first_seen: row.firstSeen.toISOString(),
        last_seen: row.lastSeen.toISOString(),
      })),
    ),
  ])
  if (rollup.access.length > 0) {
    await tx.query(UPSERT_ACCESS, [
      JSON.stringify(
        rollup.access.map((row) => ({
          subject: row.subject,
          grant_id: row.grantId,
          audience: row.audience,
          scope: row.scope,
          first_used: row.firstUsed.toISOString(),
          last_used: row.lastUsed.toISOString(),
        })),
      ),
    ])
  }
  if (rollup.delegations.length > 0) {
    await tx.query(UPSERT_DELEGATIONS, [
      JSON.stringify(
        rollup.delegations.map((row) => ({
          subject: row.subject,
          actor: row.actor,
          tokens: row.tokens,
          first_seen: row.firstSeen.toISOString(),
          last_seen: row.lastSeen.toISOString(),
        })),
      ),
    ])
  }
  await tx.query(UPSERT_DAILY, [JSON.stringify(rollup.daily.map((row) => ({ subject: row.subject, day: row.day, tokens: row.tokens })))])
}
