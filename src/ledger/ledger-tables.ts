import { SqlConditions } from '../db/sql.js'
import { isGlob } from '../lib/glob.js'
import { isLowerCaseUuid } from '../lib/ids.js'
import { uuidV7Millis } from '../lib/uuid-v7.js'

/**
 * Where ledger rows live, for every reader of the ledger (the store, the live-token counter): the
 * `ledger_entries` view (migration 023: the compact rows of ledger_rows, their subjects and sources
 * spelled out from the dictionaries, and the rows of before in ledger_text_rows) and, until the
 * background move has emptied it, the unpartitioned table of the release before 011 (ledger_legacy).
 * Each reader reads both in one statement, so a row being moved is seen exactly once.
 */

/** The columns of a ledger row, in the partitions' types. */
export const ENTRY_COLUMNS =
  'jti, subject, attestor, attestor_kind, attestation_fingerprint, sources, audience, scopes, grant_ids, issued_at, expires_at, client_address, request_id'

/**
 * The columns added since, each null where it does not apply and on older rows: the signing key
 * (migration 016), the DPoP key's thumbprint (migration 020), the parent token, the ancestors, the
 * actor chain, the actors' sources and grants (migration 021). None is in the hash chain's canonical row (src/ledger/chain/batch-hash.ts).
 */
const LATER_COLUMNS = 'kid, jkt, parent_jti, ancestor_jtis, actors, actor_sources, actor_grant_ids'

/** What a read of the `ledger_entries` view names: every column of an entry. */
export const ENTRY_SELECT = `${ENTRY_COLUMNS}, ${LATER_COLUMNS}`

/** The same columns read from the legacy table (text jti, base64url fingerprint) in the partitions' types. */
export const LEGACY_COLUMNS =
  'jti::uuid AS jti, subject, attestor, attestor_kind, ledger_fingerprint_bytes(attestation_fingerprint) AS attestation_fingerprint, ' +
  'sources, audience, scopes, grant_ids, issued_at, expires_at, client_address, request_id, ' +
  'NULL::text AS kid, NULL::text AS jkt, NULL::uuid AS parent_jti, NULL::uuid[] AS ancestor_jtis, NULL::text[] AS actors, NULL::text[] AS actor_sources, NULL::uuid[] AS actor_grant_ids'

/**
 * How a reader asks for the tokens of one subject (or glob, or team's prefixes) or one attestation
 * source, by the kind of row it reads. Migration 023 numbers a compact row's subject and sources (in
 * ledger_subjects and ledger_sources), and the `ledger_entries` view spells them out with expressions
 * no index serves, so a statement that filters on them asks each kind of row apart: `compact` by the
 * numbers, through the compact rows' indexes (and nothing of ledger_text_rows, whose numbers are NULL
 * constants in the view), `spelled` by the strings of ledger_text_rows (and nothing of the compact
 * rows), `legacy` by the strings of migration 011's table of before. Every form binds the same
 * parameters in the same order, so the statements of one search share one list.
 */
export type RowForm = 'compact' | 'spelled' | 'legacy'

/** The view's column of `form`'s subject and sources, where they are spelled out. */
const SPELLED: Record<Exclude<RowForm, 'compact'>, { subject: string; sources: string }> = {
  spelled: { subject: 'spelled_subject', sources: 'spelled_sources' },
  legacy: { subject: 'subject', sources: 'sources' },
}

/**
 * `= ANY(...)` is not folded away on a NULL constant when planning, as `=` and `@>` are (Postgres
 * folds a ScalarArrayOpExpr only when all its arguments are constants; it is left to a one-time
 * filter at run time), so a condition on the numbers that uses it carries this as well: false on
 * ledger_text_rows when planning, so its partitions are not even planned; true on every compact row.
 */
const NUMBERED = 'subject_id IS NOT NULL'

/** The row's subject is `glob` (or matches it), as `form` asks it. */
export function addSubjectGlob(conditions: SqlConditions, form: RowForm, glob: string): SqlConditions {
  if (form !== 'compact') return conditions.matchGlob(SPELLED[form].subject, glob)
  // One subject: its number, for the index on (subject_id, issued_at) read newest first. A glob: the
  // numbers of every subject it matches, the dictionary read by the glob's literal prefix.
  const numbers = isGlob(glob)
    ? (inner: string) => `${NUMBERED} AND subject_id = ANY(ARRAY(SELECT id FROM ledger_subjects WHERE ${inner}))`
    : (inner: string) => `subject_id = (SELECT id FROM ledger_subjects WHERE ${inner})`
  return conditions.within(numbers, (inner) => inner.matchGlob('subject', glob))
}

/** The row's subject is one of `prefixes` or below one (a team-scoped token's), as `form` asks it. */
export function addSubjectUnder(conditions: SqlConditions, form: RowForm, prefixes: readonly string[]): SqlConditions {
  if (form !== 'compact') return conditions.underPrefixes(SPELLED[form].subject, prefixes)
  return conditions.within(
    (inner) => `${NUMBERED} AND subject_id = ANY(ARRAY(SELECT id FROM ledger_subjects WHERE ${inner}))`,
    (inner) => inner.underPrefixes('subject', prefixes),
  )
}

/** The row's attestation came from `source`, as `form` asks it: containment, which the GIN indexes serve. */
export function addSource(conditions: SqlConditions, form: RowForm, source: string): SqlConditions {
  // An unknown source has no number: ARRAY[NULL] contains nothing, so no row matches.
  if (form === 'compact') return conditions.add('source_ids @> ARRAY[(SELECT id FROM ledger_sources WHERE source = ?::text)]', source)
  return conditions.add(`${SPELLED[form].sources} @> ARRAY[?::text]`, source)
}

/**
 * How far a jti's time may be from its token's issued_at. The exchange takes both from one reading
 * of its clock (issued_at is that reading in whole seconds), so a second would do; the margin costs
 * nothing (at most one more partition) and keeps a jti found should they ever come from two clocks.
 */
export const JTI_CLOCK_SKEW_MS = 10 * 60_000

/** One condition and its values, for the partitions and for the legacy table. */
export interface JtiLookup {
  /** For ledger_entries: the jti and, for a v7 jti, the issued_at range its time allows. */
  entries: { condition: string; values: unknown[] }
  /** For ledger_legacy, or undefined when the jti cannot be there (a v7 jti postdates it). */
  legacy?: { condition: string; values: unknown[] }
}

/**
 * Where a token with this jti can be. Undefined when it can be nowhere: the service only ever wrote
 * lower-case UUIDs, and a jti was always compared exactly.
 */
export function jtiLookup(jti: string): JtiLookup | undefined {
  if (!isLowerCaseUuid(jti)) return undefined
  const millis = uuidV7Millis(jti)
  if (millis === undefined) {
    // A v4 jti: a token of the release before, recorded before or during the upgrade. Its row may be
    // in any partition (moved there from the legacy table) or still in the legacy table.
    return { entries: { condition: 'jti = ?::uuid', values: [jti] }, legacy: { condition: 'jti = ?', values: [jti] } }
  }
  return {
    entries: {
      condition: 'jti = ?::uuid AND issued_at >= ? AND issued_at < ?',
      values: [jti, new Date(millis - JTI_CLOCK_SKEW_MS), new Date(millis + JTI_CLOCK_SKEW_MS)],
    },
  }
}

/**
 * The redundant bound that lets the planner skip every partition too old to hold a live token: a
 * token's lifetime is at most `tokens.maxTtlSeconds`, so one still live at `now` was issued after
 * now - maxTtl.
 */
export function liveIssuedSince(now: Date, maxTtlSeconds: number): Date {
  return new Date(now.getTime() - maxTtlSeconds * 1000)
}

/**
 * One statement that reads the rows `lookup` allows: `entries` (a SELECT ... FROM ledger_entries) and,
 * where the jti may be there, `legacy` (the same columns FROM ledger_legacy), each given its WHERE.
 */
export function jtiQuery(lookup: JtiLookup, entries: string, legacy: string): { sql: string; params: unknown[] } {
  const conditions = new SqlConditions().add(lookup.entries.condition, ...lookup.entries.values)
  const entriesSql = `${entries} ${conditions.where}`
  if (!lookup.legacy) return { sql: entriesSql, params: conditions.params }
  // Numbered after the first half's parameters, in the same list.
  const legacyConditions = new SqlConditions()
  legacyConditions.params.push(...conditions.params)
  legacyConditions.add(lookup.legacy.condition, ...lookup.legacy.values)
  return { sql: `${entriesSql} UNION ALL ${legacy} ${legacyConditions.where}`, params: legacyConditions.params }
}
