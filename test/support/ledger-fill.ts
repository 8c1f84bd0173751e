import type { Queryable } from '../../src/db/database.js'

/**
 * Realistic ledger rows made straight in SQL (generate_series), for the upgrade and row-size tests:
 * an organisation of 1,000 pods (500 service accounts in 50 namespaces, one grant each, on 30 nodes,
 * calling 20 audiences), each refreshing a 5-minute token every 5 minutes, so 3.3 tokens a second
 * and 288 a day per pod, as the fleet but smaller. Row `i` is the same in both shapes, so
 * sizes compare like with like.
 */

/** 1,000 pods refreshing every 5 minutes: a token every 300 ms. */
export const FLEET_MS_PER_TOKEN = 300

export interface FillOptions {
  /** Rows numbered from `first` (default 1), so several fills never share a jti. */
  first?: number
  rows: number
  /** The newest row's issued_at (the last row's); rows are in the order they were issued, `spreadMs` apart from first to last. */
  newest: Date
  spreadMs: number
}

/** The values of row `i`, in the previous release's types (text jti, base64url fingerprint). */
function legacyValues({ first = 1, rows, newest, spreadMs }: FillOptions): string {
  const issued = `'${newest.toISOString()}'::timestamptz - make_interval(secs => floor(${spreadMs / 1000}::float8 * (${first + rows - 1} - i) / ${rows}))`
  return `
    SELECT
      (substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-8' || substr(h, 18, 3) || '-' || substr(h, 21, 12)) AS jti,
      'spiffe://example.org/k8s/prod/ns/ns-' || (i % 1000 % 50) || '/sa/svc-' || (i % 1000 % 500) AS subject,
      'k8s-prod' AS attestor,
      'kubernetes' AS attestor_kind,
      rtrim(translate(encode(sha256(i::text::bytea), 'base64'), '+/', '-_'), '=') AS attestation_fingerprint,
      ARRAY['k8s:prod', 'k8s:prod:node:node-' || (i % 1000 % 30), 'k8s:prod:pod:' || md5('pod' || (i % 1000))::uuid] AS sources,
      'https://api-' || (i % 1000 % 20) || '.example.org' AS audience,
      ARRAY['read'] AS scopes,
      ARRAY[md5('grant' || (i % 1000 % 500))::uuid] AS grant_ids,
      ${issued} AS issued_at,
      ${issued} + interval '5 minutes' AS expires_at,
      '10.' || (i % 256) || '.' || (i / 256 % 256) || '.7' AS client_address,
      md5('request' || i)::uuid::text AS request_id
    FROM (SELECT i, md5('jti' || i) AS h FROM generate_series(${first}, ${first + rows - 1}) AS i) AS numbered`
}

const OLD_COLUMNS =
  'jti, subject, attestor, attestor_kind, attestation_fingerprint, sources, audience, scopes, grant_ids, issued_at, expires_at, client_address, request_id'

/** Fills the unpartitioned ledger of the previous release (before migration 011: `ledger`). */
export async function fillPreviousLedger(db: Queryable, options: FillOptions, table = 'ledger'): Promise<void> {
  await db.query(`INSERT INTO ${table} (${OLD_COLUMNS}) ${legacyValues(options)}`)
}

/** The same rows with v7 jtis as the exchange makes them, in the partitions' types (ENTRY_COLUMNS). */
function v7Rows(options: FillOptions): string {
  return `(SELECT (substr(t, 1, 8) || '-' || substr(t, 9, 4) || '-7' || substr(jti, 16, 3) || '-' || substr(jti, 20, 4) || '-' || substr(jti, 25))::uuid AS jti,
            subject, attestor, attestor_kind, ledger_fingerprint_bytes(attestation_fingerprint) AS attestation_fingerprint, sources, audience, scopes,
            grant_ids, issued_at, expires_at, client_address, request_id
       FROM (SELECT *, lpad(to_hex((extract(epoch FROM issued_at) * 1000)::bigint), 12, '0') AS t FROM (${legacyValues(options)}) AS old) AS v7)`
}

/** Fills the partitions with the rows, as the compact rows the service writes (partitions must exist for their days). */
export async function fillLedgerEntries(db: Queryable, options: FillOptions): Promise<void> {
  for (const statement of compactInsertSql('ledger_rows', v7Rows(options))) await db.query(statement)
}

/**
 * Fills the partitioned table of before migration 023 with the rows as that release wrote them:
 * ledger_text_rows since, ledger_entries before it.
 */
export async function fillTextRows(db: Queryable, options: FillOptions, table = 'ledger_text_rows'): Promise<void> {
  await db.query(`INSERT INTO ${table} (${OLD_COLUMNS}) SELECT ${OLD_COLUMNS} FROM ${v7Rows(options)} AS r`)
}

/**
 * Rows in the ledger's columns (`rows`: a table, or a parenthesised SELECT, of ENTRY_COLUMNS) written
 * to `table` as compact rows (migration 023), as the service writes them: the subjects and sources
 * numbered first (in a sorted order, so two fills at once never wait for each other in a circle),
 * then the rows with their numbers, and a service-made request id (a bare UUID) as a uuid. Three
 * statements, to run in order; `rows` is read by each.
 */
export function compactInsertSql(table: string, rows: string): string[] {
  const uuid = "'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'"
  return [
    `INSERT INTO ledger_subjects (subject) SELECT DISTINCT subject FROM ${rows} AS r ORDER BY 1
       ON CONFLICT (subject text_pattern_ops) DO NOTHING`,
    `INSERT INTO ledger_sources (source) SELECT DISTINCT unnest(sources) FROM ${rows} AS r ORDER BY 1 ON CONFLICT (source) DO NOTHING`,
    `INSERT INTO ${table} (jti, request_uuid, subject_id, attestor, attestor_kind, attestation_fingerprint, source_ids, audience, scopes,
                          grant_ids, issued_at, expires_at, client_address, request_id)
     SELECT r.jti, CASE WHEN r.request_id ~ ${uuid} THEN r.request_id::uuid END, s.id, r.attestor, r.attestor_kind, r.attestation_fingerprint,
            ARRAY(SELECT so.id FROM unnest(r.sources) WITH ORDINALITY AS u(source, n) JOIN ledger_sources so ON so.source = u.source ORDER BY u.n),
            r.audience, r.scopes, r.grant_ids, r.issued_at, r.expires_at, r.client_address,
            CASE WHEN r.request_id ~ ${uuid} THEN NULL ELSE r.request_id END
       FROM ${rows} AS r JOIN ledger_subjects s ON s.subject = r.subject`,
  ]
}

/**
 * Bytes per row of a table with its indexes (heap, TOAST, free space map, visibility map included),
 * partitions summed, and the tables beside it its rows need (`shared`, such as the dictionaries of
 * compact rows) counted in: what the disk pays for each row.
 */
export async function bytesPerRow(db: Queryable, table: string, shared: readonly string[] = []): Promise<number> {
  const [row] = await db.query<{ bytes: string; rows: string }>(
    `SELECT (coalesce((SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree($1::regclass) WHERE isleaf), pg_total_relation_size($1::regclass))
             + coalesce((SELECT sum(pg_total_relation_size(t::regclass)) FROM unnest($2::text[]) AS t), 0))::bigint AS bytes,
            (SELECT count(*) FROM ${table})::bigint AS rows`,
    [table, shared],
  )
  return Math.round(Number(row?.bytes) / Number(row?.rows))
}

/** The dictionaries of compact ledger rows (migration 023), whose size belongs to the rows' cost. */
export const LEDGER_DICTIONARIES = ['ledger_subjects', 'ledger_sources'] as const
