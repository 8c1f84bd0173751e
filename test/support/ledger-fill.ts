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

/** Fills the partitions with the same rows, but v7 jtis as the exchange makes them (partitions must exist for their days). */
export async function fillLedgerEntries(db: Queryable, options: FillOptions): Promise<void> {
  await db.query(
    `INSERT INTO ledger_entries (${OLD_COLUMNS})
     SELECT (substr(t, 1, 8) || '-' || substr(t, 9, 4) || '-7' || substr(jti, 16, 3) || '-' || substr(jti, 20, 4) || '-' || substr(jti, 25))::uuid,
            subject, attestor, attestor_kind, ledger_fingerprint_bytes(attestation_fingerprint), sources, audience, scopes,
            grant_ids, issued_at, expires_at, client_address, request_id
       FROM (SELECT *, lpad(to_hex((extract(epoch FROM issued_at) * 1000)::bigint), 12, '0') AS t FROM (${legacyValues(options)}) AS old) AS rows`,
  )
}

/**
 * Bytes per row of a table with its indexes (heap, TOAST, free space map, visibility map included),
 * partitions summed: what the disk pays for each row.
 */
export async function bytesPerRow(db: Queryable, table: string): Promise<number> {
  const [row] = await db.query<{ bytes: string; rows: string }>(
    `SELECT coalesce((SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree($1::regclass) WHERE isleaf), pg_total_relation_size($1::regclass))::bigint AS bytes,
            (SELECT count(*) FROM ${table})::bigint AS rows`,
    [table],
  )
  return Math.round(Number(row?.bytes) / Number(row?.rows))
}
