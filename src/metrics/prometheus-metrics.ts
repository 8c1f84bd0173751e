import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Clock } from '../lib/clock.js'
import type { ReplayClaimResult, WatchedConnection } from '../observability/observers.js'
import { ExchangeMetrics, LATENCY_BUCKETS } from './exchange-metrics.js'
import { ledgerChainMetrics } from './ledger-chain-metrics.js'
import type { Metrics, StateSources } from './metrics.js'

/**
 * The service's metrics in a prom-client registry of their own (never the global one, so two services
 * in one process, as in the tests, keep theirs apart). Names carry their unit; label values are
 * bounded: outcomes, OAuth errors and reasons, configured attestor names, route patterns, statuses.
 * `aggregator` says how a scrape of several workers combines each (src/metrics/cluster-metrics.ts):
 * counts add up; an age is the worst worker's; a connection is up only if it is up in every worker.
 */
export function createPrometheusMetrics(clock: Clock): Metrics & { registry: Registry } {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  const registers = [registry]
  let sources: StateSources | undefined

  const batchEntries = new Histogram({
    name: 'sts_ledger_batch_entries',
    help: 'Ledger entries written per group commit (one INSERT).',
    buckets: [1, 2, 5, 10, 20, 50, 100],
    registers,
  })
  const commitDuration = new Histogram({
    name: 'sts_ledger_commit_duration_seconds',
    help: 'Time to commit one batch of ledger entries, by result (ok, error).',
    labelNames: ['result'],
    buckets: LATENCY_BUCKETS,
    registers,
  })
  const committed = { ok: commitDuration.labels('ok'), error: commitDuration.labels('error') }

  const flushDuration = new Histogram({
    name: 'sts_inventory_flush_duration_seconds',
    help: "Time to write the inventory's roll-ups gathered since the last write, by result (ok, error: kept for the next).",
    labelNames: ['result'],
    buckets: LATENCY_BUCKETS,
    registers,
  })
  const flushed = { ok: flushDuration.labels('ok'), error: flushDuration.labels('error') }
  // Both series from the start, at 0 until a write fails: a failure ratio or alert has both sides.
  flushDuration.zero({ result: 'ok' })
  flushDuration.zero({ result: 'error' })
  const inventoryDropped = new Counter({
    name: 'sts_inventory_dropped_total',
    help: 'Inventory roll-up rows dropped unwritten: more than inventory.maxPendingRows were held while writes failed (or one was in flight).',
    registers,
  })

  const jwksFetches = new Counter({
    name: 'sts_jwks_fetches_total',
    help: "Fetches of an attestation issuer's JWKS, by attestor (failures included).",
    labelNames: ['attestor'],
    registers,
  })
  const jwksFailures = new Counter({
    name: 'sts_jwks_fetch_failures_total',
    help: "Fetches of an attestation issuer's JWKS that gave no usable key set, by attestor.",
    labelNames: ['attestor'],
    registers,
  })
  const jwksFetchedAt = new Map<string, number>()
  new Gauge({
    name: 'sts_jwks_key_set_age_seconds',
    help: 'Seconds since the key set of an attestor was last fetched successfully.',
    labelNames: ['attestor'],
    aggregator: 'max',
    registers,
    collect() {
      // Only the attestors configured now: a series left for one a reload removed would age without end.
      this.reset()
      for (const [attestor, at] of jwksFetchedAt) this.labels(attestor).set(Math.max(0, clock.now() - at) / 1000)
    },
  })

  const claims = new Counter({
    name: 'sts_replay_claims_total',
    help: 'Claims on single-use attestations, by result (accepted: first use; replayed: refused; unavailable: no answer, refused).',
    labelNames: ['result'],
    registers,
  })
  const claimed: Record<ReplayClaimResult, { inc(): void }> = {
    accepted: claims.labels('accepted'),
    replayed: claims.labels('replayed'),
    unavailable: claims.labels('unavailable'),
  }

  const adminRequests = new Counter({
    name: 'sts_admin_requests_total',
    help: 'Admin API requests answered, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'],
    registers,
  })
  const streams = new Gauge({
    name: 'sts_revocation_streams_open',
    help: 'Revocation streams (/v1/revocations/stream) open now.',
    registers,
  })

  const redisConnections: { purpose: string; connection: WatchedConnection }[] = []
  new Gauge({
    name: 'sts_redis_connection_up',
    help: 'Whether each Redis connection, by purpose, is ready to take commands (1) or not (0).',
    labelNames: ['purpose'],
    aggregator: 'min',
    registers,
    collect() {
      for (const { purpose, connection } of redisConnections) this.labels(purpose).set(connection.status === 'ready' ? 1 : 0)
    },
  })

  const stateAge = (name: string, help: string, read: (s: StateSources) => number | undefined) =>
    new Gauge({
      name,
      help,
      aggregator: 'max',
      registers,
      collect() {
        const age = sources ? read(sources) : undefined
        if (age !== undefined) this.set(age)
      },
    })
  stateAge(
    'sts_revocation_state_age_seconds',
    'Seconds since this instance last heard from the revocation store (Redis): how much its copy may be missing; it refuses to issue past redis.maxStalenessMs. 0 without Redis.',
    (s) => s.revocations.stateAgeSeconds(),
  )
  stateAge(
    'sts_grant_state_age_seconds',
    'Seconds since this instance last read the grant changes; it refuses to issue past grants.maxStalenessMs.',
    (s) => s.grants.stateAgeSeconds(),
  )
  const pool = (name: string, help: string, read: (stats: { total: number; idle: number; waiting: number }) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const stats = sources?.database.poolStats?.()
        if (stats) this.set(read(stats))
      },
    })
  pool('sts_postgres_pool_connections', 'Connections the Postgres pool holds open (idle or lent out).', (s) => s.total)
  pool('sts_postgres_pool_idle_connections', 'Connections of the Postgres pool that are idle.', (s) => s.idle)
  pool('sts_postgres_pool_waiting_clients', 'Callers waiting for a connection of the Postgres pool.', (s) => s.waiting)

  const retirements = new Map<string, number>()
  new Gauge({
    name: 'sts_signing_key_retirement_seconds',
    help: 'Seconds until the key that signs now is planned to stop signing, by kid (negative: overdue). Fed by the key store; absent while it plans nothing.',
    labelNames: ['kid'],
    aggregator: 'min',
    registers,
    collect() {
      this.reset()
      for (const [kid, at] of retirements) this.labels(kid).set((at - clock.now()) / 1000)
    },
  })

  const underPreviousKek = new Gauge({
    name: 'sts_signing_keys_sealed_under_previous_kek',
    help: 'Signing keys whose private key is sealed under a key-encryption key other than the current one, as the last re-seal run left them. The previous key-encryption keys may be dropped once it is 0 on every instance.',
    aggregator: 'max',
    registers,
  })

  return {
    registry,
    exchanges: new ExchangeMetrics(registry),
    ledger: {
      committed(entries, seconds, ok) {
        batchEntries.observe(entries)
        ;(ok ? committed.ok : committed.error).observe(seconds)
      },
    },
    ledgerChains: ledgerChainMetrics(registry),
    inventory: {
      flushed: (_rows, seconds, ok) => (ok ? flushed.ok : flushed.error).observe(seconds),
      dropped: (rows) => inventoryDropped.inc(rows),
    },
    jwks: {
      fetched(attestor, ok) {
        jwksFetches.labels(attestor).inc()
        // A failure series from the first fetch on, at 0 until one fails: ratios have both sides.
        jwksFailures.labels(attestor).inc(ok ? 0 : 1)
        if (ok) jwksFetchedAt.set(attestor, clock.now())
      },
      removed(attestor) {
        jwksFetchedAt.delete(attestor)
      },
    },
    replay: { claimed: (result) => claimed[result].inc() },
    admin: { answered: (method, route, status) => adminRequests.labels(method, route, String(status)).inc() },
    streams: { opened: () => streams.inc(), closed: () => streams.dec() },
    redis: { opened: (purpose, connection) => redisConnections.push({ purpose, connection }) },
    signingKeys: {
      signing(kid, retiresAtMillis) {
        // One key signs at a time: the gauge names the current one only.
        retirements.clear()
        if (retiresAtMillis !== undefined) retirements.set(kid, retiresAtMillis)
      },
      sealedUnderPreviousKek: (count) => underPreviousKek.set(count),
    },
    watch(watched) {
      sources = watched
    },
    scrape: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  }
}
