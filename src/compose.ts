import type { Logger } from 'pino'
import { createHttpJwksFetcher, type JwksFetcher } from './jose/jwks-fetcher.js'
import { reloadConfig, type Config, type ConfigSource } from './config.js'
import type { Database } from './db/database.js'
import { migrate } from './db/migrations.js'
import { createPGliteDatabase } from './db/pglite.js'
import { createPostgresDatabase } from './db/postgres.js'
import { postgresTlsOptions } from './db/postgres-tls.js'
import { TokenExchange } from './exchange/token-exchange.js'
import { trustProxyWarnings } from './http/trust-proxy.js'
import { GrantCatalog } from './grants/grant-catalog.js'
import { LocalGrantFeed } from './grants/grant-feed.js'
import { RedisGrantFeed } from './grants/redis-grant-feed.js'
import type { GrantStore } from './grants/grant-store.js'
import { SqlGrantStore } from './grants/sql-grant-store.js'
import { developmentKek } from './keys/development-kek.js'
import { KeyEncryptionKey } from './keys/key-encryption.js'
import { JWKS_MAX_AGE_SECONDS } from './keys/key-lifecycle.js'
import { KeyMaintenance } from './keys/key-maintenance.js'
import { KeyRing } from './keys/key-ring.js'
import { KeyService } from './keys/key-service.js'
import { readPemKeyFiles } from './keys/pem-key-files.js'
import type { Signer } from './keys/signer.js'
import { SoftwareSigner } from './keys/software-signer.js'
import { SqlSigningKeyStore } from './keys/sql-key-store.js'
import type { LedgerStore } from './ledger/ledger-store.js'
import { BatchingLedger } from './ledger/batching-ledger.js'
import { SqlLedgerStore } from './ledger/sql-ledger-store.js'
import { LedgerPartitions } from './ledger/ledger-partitions.js'
import { LedgerMaintenance } from './ledger/ledger-maintenance.js'
import { LedgerRetention } from './ledger/ledger-retention.js'
import { LegacyLedgerMove } from './ledger/legacy-ledger-move.js'
import { keptPartitionWarning } from './ledger/partition-bound.js'
import { ensureWritableDirectory } from './lib/writable-directory.js'
import { systemClock, type Clock } from './lib/clock.js'
import { openRedis, waitForRedis, type RedisClient, type RedisConnectionOptions } from './lib/redis-connection.js'
import { Drain } from './lib/drain.js'
import type { AdminTokenStore } from './admin-tokens/admin-token-store.js'
import { SqlAdminTokenStore } from './admin-tokens/sql-admin-token-store.js'
import { AdminTokenVerifier } from './admin-tokens/admin-token-verifier.js'
import type { AuditLog } from './audit/audit-log.js'
import { SqlAuditLog } from './audit/sql-audit-log.js'
import { SqlLiveTokenCounter } from './revocation/sql-live-token-counter.js'
import { RedisRevocationBus } from './revocation/redis-revocation-bus.js'
import { LocalRevocationBus, type RevocationBus } from './revocation/revocation-bus.js'
import { RevocationCache } from './revocation/revocation-cache.js'
import type { RevocationLog } from './revocation/revocation-log.js'
import { SqlRevocationLog } from './revocation/sql-revocation-log.js'
import { RevocationService } from './revocation/revocation-service.js'
import type { RegistrationStore } from './replay/registration-store.js'
import { SqlRegistrationStore } from './replay/sql-registration-store.js'
import { RegistrationTidy } from './replay/registration-tidy.js'
import { RetentionMaintenance } from './retention/retention-maintenance.js'
import { SqlAuditPartitions } from './audit/sql-audit-partitions.js'
import { RedisReplayGuard } from './replay/redis-replay-guard.js'
import type { ReplayGuard } from './replay/replay-guard.js'
import { SqlReplayGuard } from './replay/sql-replay-guard.js'
import { TokenIntrospection } from './tokens/introspection.js'
import { TokenSigner } from './tokens/token-signer.js'
import { MemoryBudgetCounter, RedisBudgetCounter, type BudgetCounter } from './http/budget-counter.js'
import { SettingsHolder, type Settings } from './lib/settings-holder.js'
import { ConfigReloader } from './reload/config-reloader.js'
import { LocalReloadFeed } from './reload/reload-feed.js'
import { RedisReloadFeed } from './reload/redis-reload-feed.js'
import { ReloadService } from './reload/reload-service.js'
import { runtimeSettingsOf, type AttestorOutside, type RuntimeSettings } from './reload/runtime-settings.js'
import { NO_METRICS, type Metrics, type ScrapeSource } from './metrics/metrics.js'
import { createPrometheusMetrics } from './metrics/prometheus-metrics.js'
import { workerScrape } from './metrics/cluster-metrics.js'
import { observeReplayGuard } from './replay/observed-replay-guard.js'
import { isWorker } from './workers.js'
import { identityBudget } from './http/rate-limits.js'
import { openRestoreGuard } from './restore/restore-guard.js'
import { allObservers, type ExchangeObserver } from './observability/exchange-observer.js'
import type { SpanExporter } from '@opentelemetry/sdk-trace-base'
import type { Tracing } from './tracing/tracing.js'

/** Everything the HTTP layer needs, built once. */
export interface Services {
  config: Config
  logger: Logger
  clock: Clock
  database: Database
  ledger: LedgerStore
  grants: GrantStore
  grantCatalog: GrantCatalog
  /** This instance's copy of the revocations in force: what the hot path checks. */
  revocations: RevocationCache
  revocationService: RevocationService
  audit: AuditLog
  adminTokens: AdminTokenStore
  /** Who an admin bearer token stands for: the admin API and introspection authenticate with it. */
  adminTokenVerifier: AdminTokenVerifier
  /** Instance registrations (AWS, Azure): what the admin API lists and forgets. */
  registrations: RegistrationStore
  /** Forgets registrations unused for `registrations.tidyAfterDays`; undefined when that is 0. */
  registrationTidy: RegistrationTidy | undefined
  /** Makes audit partitions ahead; applies `audit.retentionDays` and `revocations.retentionDays`. */
  retention: RetentionMaintenance
  /** This instance's copy of the signing keys: what it signs with, publishes and verifies its own tokens with. */
  keys: KeyRing
  /** Rotation, revocation and the listing of the signing keys. */
  keyService: KeyService
  /** Holds the private keys and signs with them. */
  signer: Signer
  /** What a reload may change (the attestors, limits, default token lifetime): read it per request, never keep it. */
  runtime: Settings<RuntimeSettings>
  /** Reloads of the configuration: SIGHUP, the admin API, and other instances' requests. */
  reloads: ReloadService
  exchange: TokenExchange
  introspection: TokenIntrospection
  /** Begun on SIGTERM: readiness fails, new requests are refused, streams end, requests in flight finish. */
  drain: Drain
  /** Where the admin API's request budgets and the token budget per identity are counted: in Redis with REDIS_URL (across instances), else here. */
  rateLimits: BudgetCounter
  /** The Redis connection the budgets are counted on, with REDIS_URL. */
  rateLimitRedis?: RedisClient
  /** What each part reports to: Prometheus metrics, or nothing with `metrics.enabled: false`. */
  metrics: Metrics
  /** Answers GET /metrics: this process's metrics, or in a worker the whole group's; undefined when off. */
  scrape: ScrapeSource | undefined
  /** Told of every token request: the metrics, and the traces with `tracing.enabled`. */
  exchangeObserver: ExchangeObserver
  /** OpenTelemetry traces; undefined (and never loaded) when `tracing.enabled` is false. */
  tracing: Tracing | undefined
  close(): Promise<void>
}

/** The outside world, replaceable in tests: time and JWKS endpoints. */
export interface Outside {
  clock?: Clock
  fetchJwks?: JwksFetcher
  /** Where a reload reads the configuration again (the file and environment it was loaded from); without it, reloads are refused. */
  configSource?: ConfigSource
  /** With `tracing.enabled`, where spans go instead of OTLP (tests: an in-memory exporter). */
  spanExporter?: SpanExporter
}

/** Said at start, so an operator whose every admin call answers 401 finds why and the remedy in the log. */
const CLOSED_ADMIN_API_WARNING =
  'no admin token is configured (admin.token or STS_ADMIN_TOKEN): the admin API (/v1) and introspection are closed, ' +
  'every call answers 401 unless it carries a scoped admin token made earlier; ' +
  'set STS_ADMIN_TOKEN (at least 24 characters) or admin.token to open them'

/** The composition root: the only place that picks implementations. */
export async function composeServices(config: Config, logger: Logger, outside: Outside = {}): Promise<Services> {
  const clock = outside.clock ?? systemClock
  const closers: (() => Promise<void>)[] = []
  const { metrics, scrape } = openMetrics(config, clock)
  try {
    const tracing = await openTracing(config, logger, outside.spanExporter)
    if (tracing) closers.push(() => tracing.shutdown())
    const opened = await openDatabase(config, logger)
    closers.push(() => opened.close())
    const database = tracing ? tracing.database(opened) : opened
    const applied = await migrate(database)
    if (applied.length > 0) logger.info({ applied }, 'database migrations applied')

    const revocationLog = new SqlRevocationLog(database)
    // Before anything reads or rebuilds revocations from it: a database restored behind them stops here.
    const restoreGuard = await openRestoreGuard(config, revocationLog, clock, logger)
    if (restoreGuard) closers.push(() => restoreGuard.stop())
    const bus = openRevocationBus(config, logger, clock, revocationLog, metrics)
    closers.push(() => bus.close())
    const revocations = new RevocationCache(clock, bus.maxStalenessMs)
    await bus.start(revocations)
    const audit = new SqlAuditLog(database)
    const revocationService = new RevocationService(
      revocationLog,
      bus,
      audit,
      new SqlLiveTokenCounter(database, config.tokens.maxTtlSeconds, config.revocations.countBudgetMs),
      clock,
      logger,
    )

    const signingKeys = await openSigningKeys(config, database, audit, revocationService, revocationLog, clock, logger, metrics)
    closers.push(() => signingKeys.close())
    const { ring: keys, service: keyService, signer } = signingKeys
    const attestorOutside: AttestorOutside = {
      clock,
      fetchJwks: jwksFetcher(outside.fetchJwks, tracing),
      jwksObserver: metrics.jwks,
    }
    const runtime = new SettingsHolder(runtimeSettingsOf(config, attestorOutside))
    const attestors = runtime.current().attestors
    if (config.attestors.length === 0) logger.warn('no attestors are configured: every token exchange will be refused')
    for (const warning of attestors.startupWarnings()) logger.warn(warning)
    for (const warning of trustProxyWarnings(config)) logger.warn({ trustProxy: config.trustProxy }, warning)
    const partitionWarning = keptPartitionWarning(config.ledger.retentionDays, config.ledger.partitionInterval)
    if (partitionWarning) logger.warn({ ledger: config.ledger }, partitionWarning)
    if (config.admin.token === undefined) logger.warn(CLOSED_ADMIN_API_WARNING)

    const partitions = new LedgerPartitions(database, config.ledger.partitionInterval)
    const ledger = new BatchingLedger(
      new SqlLedgerStore(database, {
        partitions,
        maxTtlSeconds: config.tokens.maxTtlSeconds,
        onPartitionCreated: (created) =>
          logger.warn({ created }, 'ledger partitions created by an insert: the ledger maintenance is behind'),
      }),
      undefined,
      metrics.ledger,
    )
    const ledgerMaintenance = await startLedgerMaintenance(config, database, partitions, clock, logger)
    closers.push(() => ledgerMaintenance.stop())
    const grants = new SqlGrantStore(database, audit)
    const grantCatalog = openGrantCatalog(config, logger, clock, grants, metrics)
    closers.push(() => grantCatalog.close())
    await grantCatalog.start()
    const replay = observeReplayGuard(await openReplayGuard(config, database, clock, logger, metrics, tracing), metrics.replay)
    closers.push(() => replay.close())
    const registrations = new SqlRegistrationStore(database, audit)
    const registrationTidy = startRegistrationTidy(config, registrations, clock, logger)
    if (registrationTidy) closers.push(() => registrationTidy.stop())
    const retention = startRetention(config, database, revocationLog, clock, logger)
    closers.push(() => retention.stop())
    const rateLimitRedis = await openRateLimitRedis(config, metrics, tracing)
    if (rateLimitRedis) closers.push(async () => rateLimitRedis.disconnect())
    const rateLimits = rateLimitRedis
      ? new RedisBudgetCounter(rateLimitRedis, `${config.redis.keyPrefix}rate-limit:`)
      : new MemoryBudgetCounter()
    const exchange = new TokenExchange({
      identityBudget: identityBudget(rateLimits, config.limits.tokenRequestsPerIdentityPerMinute),
      replay,
      registrations,
      settings: runtime,
      grants: grantCatalog,
      revocations,
      ledger,
      signer: new TokenSigner(keys, signer),
      clock,
      issuer: config.issuer,
      maxTtlSeconds: config.tokens.maxTtlSeconds,
    })
    const adminTokens = new SqlAdminTokenStore(database, audit)
    const reloads = openReloads(config, logger, { runtime, attestorOutside, audit, database, clock, metrics, source: outside.configSource })
    closers.push(() => reloads.close())
    await reloads.start()
    metrics.watch({ revocations, grants: grantCatalog, database })
    return {
      config,
      logger,
      clock,
      database,
      ledger,
      grants,
      grantCatalog,
      revocations,
      revocationService,
      audit,
      adminTokens,
      adminTokenVerifier: new AdminTokenVerifier({ bootstrapToken: config.admin.token, tokens: adminTokens, clock }),
      registrations,
      registrationTidy,
      retention,
      keys,
      keyService,
      signer,
      runtime,
      reloads,
      exchange,
      introspection: new TokenIntrospection(config.issuer, keys, ledger, revocations, clock, logger),
      drain: new Drain(),
      rateLimits,
      ...(rateLimitRedis ? { rateLimitRedis } : {}),
      metrics,
      scrape,
      exchangeObserver: allObservers(tracing ? [metrics.exchanges, tracing.exchanges] : [metrics.exchanges]),
      tracing,
      close: () => closeAll(closers),
    }
  } catch (error) {
    await closeAll(closers)
    throw error
  }
}

async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  if (config.database.url) {
    logger.info({ ledger: 'postgres', tls: config.database.ssl?.mode ?? 'as the URL says' }, 'ledger and grants on Postgres (DATABASE_URL)')
    return createPostgresDatabase({
      url: config.database.url,
      poolSize: config.database.poolSize,
      statementTimeoutMs: config.database.statementTimeoutMs,
      ...(config.database.ssl ? { ssl: postgresTlsOptions(config.database.ssl) } : {}),
      onIdleError: (error) =>
        logger.warn({ err: { message: error.message } }, 'an idle database connection was lost; the pool replaces it'),
    })
  }
  logger.info(
    { ledger: 'pglite', dataDir: config.database.dataDir },
    'ledger and grants on embedded PGlite: single instance only; set DATABASE_URL for Postgres',
  )
  if (config.database.dataDir === 'memory://') return createPGliteDatabase(undefined)
  ensureWritableDirectory(config.database.dataDir, {
    key: 'database.dataDir',
    instead: 'or set DATABASE_URL to keep the ledger in Postgres',
  })
  return createPGliteDatabase(config.database.dataDir)
}

/**
 * Prometheus metrics unless `metrics.enabled` is false. In a worker (workers > 1), a scrape asks the
 * primary for every worker's metrics combined (src/metrics/cluster-metrics.ts).
 */
function openMetrics(config: Config, clock: Clock): { metrics: Metrics; scrape: ScrapeSource | undefined } {
  if (!config.metrics.enabled) return { metrics: NO_METRICS, scrape: undefined }
  const metrics = createPrometheusMetrics(clock)
  return { metrics, scrape: isWorker() ? workerScrape(metrics.registry) : metrics.scrape }
}

function openRevocationBus(config: Config, logger: Logger, clock: Clock, log: RevocationLog, metrics: Metrics): RevocationBus {
  const redis = redisConnection(config, metrics)
  if (redis) {
    logger.info({ revocations: 'redis', redis: redisKind(redis) }, 'revocations on Redis, durable in the database')
    return new RedisRevocationBus(
      {
        ...redis,
        keyPrefix: config.redis.keyPrefix,
        heartbeatMs: config.redis.heartbeatMs,
        maxStalenessMs: config.redis.maxStalenessMs,
      },
      log,
      clock,
      logger,
    )
  }
  logger.warn(
    { revocations: 'local' },
    'revocations reach this process only: run a single instance, or configure Redis (REDIS_URL, redis.sentinels or redis.cluster) so every instance sees every revocation',
  )
  return new LocalRevocationBus(log, clock)
}

/**
 * The signing keys: in the database, their private halves sealed with the key-encryption key; the PEM
 * files of an earlier release imported once; this instance's copy kept current by the change feed
 * (Redis with REDIS_URL, like the grants'); the upkeep on its timer.
 */
async function openSigningKeys(
  config: Config,
  database: Database,
  audit: AuditLog,
  revocations: RevocationService,
  revocationLog: RevocationLog,
  clock: Clock,
  logger: Logger,
  metrics: Metrics,
): Promise<{ ring: KeyRing; service: KeyService; signer: Signer; close: () => Promise<void> }> {
  const signer = new SoftwareSigner(new KeyEncryptionKey(keyEncryptionKey(config, logger)))
  const store = new SqlSigningKeyStore(database)
  const redis = redisConnection(config, metrics)
  const topic = { name: 'keys', describes: 'signing key change feed', unavailable: 'keys_unavailable' } as const
  const feed = redis ? new RedisGrantFeed({ ...redis, keyPrefix: config.redis.keyPrefix, topic }, logger) : new LocalGrantFeed()
  const { catchUpIntervalMs, maxStalenessMs } = config.keys
  const ring = new KeyRing(store, signer, feed, {
    catchUpIntervalMs,
    maxStalenessMs,
    logger,
    rotateEveryMs: config.keys.rotateEveryDays * 86_400_000,
    observer: metrics.signingKeys,
  })
  const service = new KeyService({
    store,
    signer,
    ring,
    revocations,
    audit,
    clock,
    logger,
    algorithm: config.keys.algorithm,
    timings: {
      jwksMaxAgeMs: JWKS_MAX_AGE_SECONDS * 1000,
      // A replica hears of a change within its staleness bound (or stops signing), and replicas' clocks
      // agree within clockSkewSeconds.
      propagationMs: maxStalenessMs + config.clockSkewSeconds * 1000,
      maxTokenLifetimeMs: config.tokens.maxTtlSeconds * 1000,
      rotateEveryMs: config.keys.rotateEveryDays * 86_400_000,
    },
  })
  try {
    if ((await service.bootstrap(() => readPemKeyFiles(config.keys.dir))) === 'imported') {
      logger.warn(
        { dir: config.keys.dir },
        'the PEM signing keys of keys.dir were imported into the database, once: they are not read again; ' +
          'delete them once every replica runs this release (they are private keys in the clear)',
      )
    }
    await ring.start()
    const reRevoked = await service.enforceKeyRevocations(await revocationLog.listInForce(new Date(clock.now())))
    if (reRevoked.length > 0)
      logger.warn({ kids: reRevoked }, 'signing keys whose revocation stands were in use (a restored database): revoked again and replaced')
  } catch (error) {
    await ring.close()
    throw error
  }
  const maintenance = new KeyMaintenance(service, logger, config.keys.maintenanceIntervalSeconds * 1000)
  maintenance.start()
  return {
    ring,
    service,
    signer,
    close: async () => {
      await maintenance.stop()
      await ring.close()
    },
  }
}

/** STS_KEY_ENCRYPTION_KEY or keys.encryptionKeyFile; on the development defaults, one kept in the data directory. */
function keyEncryptionKey(config: Config, logger: Logger): Buffer {
  if (config.keys.encryptionKey !== undefined) return Buffer.from(config.keys.encryptionKey, 'base64')
  const made = developmentKek(config.database.dataDir)
  if (made.file) {
    logger.warn(
      { file: made.file, created: made.created },
      'the signing keys are encrypted with a development key-encryption key kept beside the database, which protects nothing: ' +
        'for anything but development set STS_KEY_ENCRYPTION_KEY (or keys.encryptionKeyFile)',
    )
  }
  return made.key
}

/** Grants loaded once, then kept current by their change feed: Redis with REDIS_URL, else this process alone. */
function openGrantCatalog(config: Config, logger: Logger, clock: Clock, grants: GrantStore, metrics: Metrics): GrantCatalog {
  if (config.grants.cacheTtlMs !== undefined)
    logger.warn('grants.cacheTtlMs is ignored: grant changes are pushed; see grants.catchUpIntervalMs and grants.maxStalenessMs')
  const redis = redisConnection(config, metrics)
  const feed = redis ? new RedisGrantFeed({ ...redis, keyPrefix: config.redis.keyPrefix }, logger) : new LocalGrantFeed()
  return new GrantCatalog(grants, feed, clock, {
    catchUpIntervalMs: config.grants.catchUpIntervalMs,
    maxStalenessMs: config.grants.maxStalenessMs,
    logger,
  })
}

/**
 * Claims are rows in the database on every backend (PGlite too), so they outlive Redis; with Redis,
 * it answers repeated replays first.
 */
async function openReplayGuard(
  config: Config,
  database: Database,
  clock: Clock,
  logger: Logger,
  metrics: Metrics,
  tracing: Tracing | undefined,
): Promise<ReplayGuard> {
  const record = new SqlReplayGuard(database, clock, {
    onPruneError: (error) => logger.warn({ err: error }, 'expired attestation claims could not be pruned; retrying later'),
  })
  const redis = tracedRedis(redisConnection(config, metrics), tracing)
  if (!redis) return record
  const guard = new RedisReplayGuard({ ...redis, keyPrefix: config.redis.keyPrefix }, record, clock)
  try {
    await guard.ready()
  } catch (error) {
    await guard.close()
    throw error
  }
  return guard
}

/** Partitions for the coming days before the first token is issued, then the upkeep on its timer. */
async function startLedgerMaintenance(
  config: Config,
  database: Database,
  partitions: LedgerPartitions,
  clock: Clock,
  logger: Logger,
): Promise<LedgerMaintenance> {
  const legacyMove = new LegacyLedgerMove(database, partitions, logger, undefined, { retentionDays: config.ledger.retentionDays, clock })
  const maintenance = new LedgerMaintenance({
    partitions,
    retention: new LedgerRetention(partitions, config.ledger.retentionDays, logger, legacyMove),
    legacyMove,
    clock,
    logger,
    intervalMs: config.ledger.maintenanceIntervalSeconds * 1000,
  })
  // Not fatal: without them, the first insert of each period creates its partition (and says so in the log).
  await maintenance
    .createAhead()
    .catch((error: unknown) => logger.warn({ err: error }, 'ledger partitions could not be created ahead at start'))
  maintenance.start()
  return maintenance
}

function startRegistrationTidy(
  config: Config,
  registrations: RegistrationStore,
  clock: Clock,
  logger: Logger,
): RegistrationTidy | undefined {
  const { tidyAfterDays, tidyIntervalSeconds, tidyBatchSize } = config.registrations
  if (tidyAfterDays === 0) return undefined
  const tidy = new RegistrationTidy({
    registrations,
    clock,
    logger,
    tidyAfterDays,
    intervalMs: tidyIntervalSeconds * 1000,
    batchSize: tidyBatchSize,
  })
  tidy.start()
  return tidy
}

function startRetention(
  config: Config,
  database: Database,
  revocations: RevocationLog,
  clock: Clock,
  logger: Logger,
): RetentionMaintenance {
  const retention = new RetentionMaintenance({
    auditPartitions: new SqlAuditPartitions(database),
    revocations,
    clock,
    logger,
    auditRetentionDays: config.audit.retentionDays,
    revocationRetentionDays: config.revocations.retentionDays,
    intervalMs: config.retention.intervalSeconds * 1000,
    revocationBatchSize: 1000,
  })
  retention.start()
  return retention
}

/** A connection of its own for the rate limits: a slow or failed count never queues behind revocations. */
async function openRateLimitRedis(config: Config, metrics: Metrics, tracing: Tracing | undefined): Promise<RedisClient | undefined> {
  const connection = tracedRedis(redisConnection(config, metrics), tracing)
  if (!connection) return undefined
  const redis = openRedis(connection, { purpose: 'rate_limits' })
  // Start-up waits for it, as for replay protection, rather than refusing the first admin requests.
  try {
    await waitForRedis(redis, 'the rate limit store', 'rate_limit_unavailable')
  } catch (error) {
    redis.disconnect()
    throw error
  }
  return redis
}

/** Where Redis is (one server, Sentinel or Cluster) and the command timeout; undefined without Redis. */
/** Where Redis is, if it is configured; every connection opened to it is watched by the metrics. */
function redisConnection(config: Config, metrics: Metrics): RedisConnectionOptions | undefined {
  const { endpoint, commandTimeoutMs } = config.redis
  return endpoint ? { ...endpoint, commandTimeoutMs, watch: metrics.redis } : undefined
}

/**
 * The connections the exchange uses (the budget per identity, the single-use claims) trace their
 * commands; the feeds' do not, as nothing they send belongs to an exchange.
 */
function tracedRedis(connection: RedisConnectionOptions | undefined, tracing: Tracing | undefined): RedisConnectionOptions | undefined {
  return connection && tracing ? { ...connection, commands: tracing.redis } : connection
}

/**
 * OpenTelemetry traces with `tracing.enabled` (or the OTEL_* variables, src/config.ts). The module is
 * imported only then: with tracing off, nothing of OpenTelemetry is loaded or built.
 */
async function openTracing(config: Config, logger: Logger, exporter: SpanExporter | undefined): Promise<Tracing | undefined> {
  if (!config.tracing.enabled) return undefined
  const { openTracing: open } = await import('./tracing/tracing.js')
  logger.info(
    { endpoint: exporter ? 'in process' : config.tracing.endpoint, serviceName: config.tracing.serviceName },
    'traces exported by OTLP',
  )
  return open({ endpoint: config.tracing.endpoint, serviceName: config.tracing.serviceName, ...(exporter ? { exporter } : {}) })
}

/** The key sets of attestation issuers fetched over HTTP (or as a test says), traced with tracing on. */
function jwksFetcher(injected: JwksFetcher | undefined, tracing: Tracing | undefined): JwksFetcher {
  const fetcher = injected ?? createHttpJwksFetcher(5000, undefined, tracing?.outgoingHeaders)
  return tracing ? tracing.jwks(fetcher) : fetcher
}

function redisKind(connection: RedisConnectionOptions): 'url' | 'sentinel' | 'cluster' {
  return 'cluster' in connection ? 'cluster' : 'sentinels' in connection ? 'sentinel' : 'url'
}

interface ReloadParts {
  metrics: Metrics
  runtime: SettingsHolder<RuntimeSettings>
  attestorOutside: AttestorOutside
  audit: AuditLog
  database: Database
  clock: Clock
  source: ConfigSource | undefined
}

/**
 * Reloads (src/reload/): the configuration read again from where it was loaded, and what may change put
 * in force by replacing the runtime settings whole and setting the logger's level. Other instances are
 * asked through Redis with REDIS_URL; without it there is no other.
 */
function openReloads(config: Config, logger: Logger, parts: ReloadParts): ReloadService {
  const { runtime, attestorOutside, source } = parts
  const reloader = new ConfigReloader({
    running: config,
    read: () => (source ? reloadConfig(source) : { problems: ['this instance was not started from a configuration to read again'] }),
    build: (next, changes) => {
      const previous = runtime.current()
      const settings = runtimeSettingsOf(next, attestorOutside, { settings: previous, changes })
      return () => {
        runtime.replace(settings)
        logger.level = next.logLevel
        if (settings.attestors === previous.attestors) return
        if (next.attestors.length === 0) logger.warn('no attestors are configured: every token exchange will be refused')
        for (const warning of settings.attestors.startupWarnings()) logger.warn(warning)
      }
    },
    logger,
  })
  const redis = redisConnection(config, parts.metrics)
  const feed = redis ? new RedisReloadFeed({ ...redis, keyPrefix: config.redis.keyPrefix }, logger) : new LocalReloadFeed()
  return new ReloadService({
    reloader,
    feed,
    audit: parts.audit,
    database: parts.database,
    clock: parts.clock,
    logger,
    target: source?.file ?? 'environment',
  })
}

async function closeAll(closers: (() => Promise<void>)[]): Promise<void> {
  for (const close of closers.reverse()) await close().catch(() => {})
}
