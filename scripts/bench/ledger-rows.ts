import { createHash } from 'node:crypto'
import { BENCH_TRUST_DOMAIN } from './requests.js'
import { ENVIRONMENTS } from './growth-rows.js'

/**
 * The ledger rows the growth part fills Postgres with, as the issue's fleet leaves them: 100,000
 * workloads over the organisation's ten clusters, each refreshing its token every 5 minutes, so a row
 * every 3 ms, oldest first, ending at the fill. Row `i` is the `i % 100,000`-th workload's token;
 * its jti is a UUIDv7 whose time is its issue time to the millisecond (issued_at is that time in
 * whole seconds, as the exchange writes it), so a jti names its partition as a real one does.
 *
 * One cluster, BIG_CLUSTER, holds 30 % of the workloads and asks for tokens as long-lived as the
 * service allows (tokens.maxTtlSeconds): refreshed every 5 minutes, each of its workloads has about
 * twelve live at any time, so revoking that cluster cuts off hundreds of thousands of live tokens
 * once the ledger holds an hour of the fleet. The other clusters' tokens live 5 or 15 minutes, so
 * most rows of a large ledger are expired.
 *
 * The SQL and its parameters live here, apart from the fill, so the shape can be read (and tested) on
 * its own: `rowsSql` selects rows `i` in [from, to) with the ledger_entries columns.
 */

export const FLEET_WORKLOADS = 100_000
export const REFRESH_SECONDS = 300
/** 100,000 workloads refreshing every 300 s: a token every 3 ms. */
export const MS_PER_ROW = (REFRESH_SECONDS * 1000) / FLEET_WORKLOADS

/** The cluster revoked whole in the bench, and the share of the fleet that runs there. */
export const BIG_CLUSTER = ENVIRONMENTS[0]
export const BIG_CLUSTER_SHARE = 0.3
export const BIG_CLUSTER_WORKLOADS = FLEET_WORKLOADS * BIG_CLUSTER_SHARE

export const NAMESPACES = 250
export const NODES = 400
export const AUDIENCES = 1000
/** Workloads per grant: a grant per service, a service of four workloads. */
export const WORKLOADS_PER_GRANT = 4

const td = `spiffe://${BENCH_TRUST_DOMAIN}`

/** Where the i-th workload runs, as its SPIFFE ID says; the same formula as the SQL below (tested). */
export function fleetWorkload(w: number): { cluster: string; namespace: string; serviceAccount: string; subject: string } {
  const cluster = w < BIG_CLUSTER_WORKLOADS ? BIG_CLUSTER : ENVIRONMENTS[1 + (w % (ENVIRONMENTS.length - 1))]
  const namespace = `team-${w % NAMESPACES}`
  const serviceAccount = `svc-${w}`
  return { cluster, namespace, serviceAccount, subject: `${td}/k8s/${cluster}/ns/${namespace}/sa/${serviceAccount}` }
}

/** The subject glob that covers a whole cluster. */
export function clusterGlob(cluster: string): string {
  return `${td}/k8s/${cluster}/**`
}

export function namespaceGlob(cluster: string, namespace: string): string {
  return `${td}/k8s/${cluster}/ns/${namespace}/sa/*`
}

export function nodeSource(cluster: string, node: number): string {
  return `k8s:${cluster}:node:node-${node}`
}

export function audienceNamed(k: number): string {
  return `svc-${k}-api`
}

/**
 * The grant id in workload `w`'s rows, as the SQL computes it (md5 of `grant<n>` shaped as a v4 UUID,
 * as gen_random_uuid() makes them and the API insists on), so a search by grant asks for one that is there.
 */
export function grantIdOf(w: number): string {
  const hex = createHash('md5')
    .update(`grant${Math.floor(w / WORKLOADS_PER_GRANT)}`)
    .digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20)}`
}

export interface RowsSpan {
  /** Rows in the whole fill. */
  total: number
  /** The newest row's time (the last row's), in ms since the epoch. */
  newestMs: number
  /** tokens.maxTtlSeconds: the big cluster's tokens live this long. */
  maxTtlSeconds: number
}

/** When row `i` of `span` was issued, to the millisecond. */
export function issuedMs(span: RowsSpan, i: number): number {
  return span.newestMs - Math.round((span.total - 1 - i) * MS_PER_ROW)
}

/** The first row issued at or after `instantMs` (`span.total` when none is), for cutting the rows by partition. */
export function firstRowAtOrAfter(span: RowsSpan, instantMs: number): number {
  const i = span.total - 1 - Math.floor((span.newestMs - instantMs) / MS_PER_ROW)
  return Math.min(span.total, Math.max(0, i))
}

/**
 * Rows [from, to) of `span`, in ledger_entries' columns (INSERT INTO ... (ENTRY_COLUMNS) SELECT this).
 * Every value is derived from `i` alone (md5 and sha256 of it), so a size is the same rows every run
 * but for their times.
 */
export function rowsSql(span: RowsSpan, from: number, to: number): string {
  const clusters = `ARRAY[${ENVIRONMENTS.slice(1)
    .map((c) => `'${c}'`)
    .join(', ')}]`
  return `
    SELECT
      (substr(t, 1, 8) || '-' || substr(t, 9, 4) || '-7' || substr(h, 14, 3) || '-8' || substr(h, 18, 3) || '-' || substr(h, 21, 12))::uuid AS jti,
      '${td}/k8s/' || cluster || '/ns/team-' || (w % ${NAMESPACES}) || '/sa/svc-' || w AS subject,
      cluster AS attestor,
      'kubernetes' AS attestor_kind,
      sha256(i::text::bytea) AS attestation_fingerprint,
      -- A pod is replaced once a day: its uid changes, its node and service account do not.
      ARRAY['k8s:' || cluster, 'k8s:' || cluster || ':node:node-' || (w % ${NODES}),
            'k8s:' || cluster || ':pod:' || md5('pod' || w || ':' || (ms / 86400000))::uuid] AS sources,
      'svc-' || ((w * 7 + (i / ${FLEET_WORKLOADS}) % 3) % ${AUDIENCES}) || '-api' AS audience,
      CASE WHEN w % 3 = 0 THEN ARRAY['read', 'write'] ELSE ARRAY['read'] END AS scopes,
      ARRAY[(substr(g, 1, 8) || '-' || substr(g, 9, 4) || '-4' || substr(g, 14, 3) || '-8' || substr(g, 18, 3) || '-' || substr(g, 21, 12))::uuid] AS grant_ids,
      issued AS issued_at,
      issued + make_interval(secs => CASE WHEN big THEN ${span.maxTtlSeconds} WHEN w % 10 < 8 THEN 300 ELSE 900 END) AS expires_at,
      '10.' || (w / 65536) || '.' || (w / 256 % 256) || '.' || (w % 256) AS client_address,
      md5('request' || i)::uuid::text AS request_id
    FROM (
      SELECT i, w, ms, big, to_timestamp(ms / 1000) AS issued, lpad(to_hex(ms), 12, '0') AS t, md5('jti' || i) AS h,
             md5('grant' || (w / ${WORKLOADS_PER_GRANT})) AS g,
             CASE WHEN big THEN '${BIG_CLUSTER}' ELSE (${clusters})[1 + w % ${ENVIRONMENTS.length - 1}] END AS cluster
        FROM (
          SELECT i, i % ${FLEET_WORKLOADS} AS w, i % ${FLEET_WORKLOADS} < ${BIG_CLUSTER_WORKLOADS} AS big,
                 ${span.newestMs}::bigint - round((${span.total - 1} - i) * ${MS_PER_ROW})::bigint AS ms
            FROM generate_series(${from}::bigint, ${to - 1}::bigint) AS i
        ) AS numbered
    ) AS row`
}
