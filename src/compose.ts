import type { Logger } from 'pino'
import { createHttpJwksFetcher, type JwksFetcher } from './jose/jwks-fetcher.js'
import { createAttestorRegistry, type AttestorRegistry } from './attestors/registry.js'
import { sourceFormsOf, type SourceForm } from './attestors/source-forms.js'
import type { Config } from './config.js'
import type { Database } from './db/database.js'
import { migrate } from './db/migrations.js'
import { createPGliteDatabase } from './db/pglite.js'
import { createPostgresDatabase } from './db/postgres.js'
import { TokenExchange } from './exchange/token-exchange.js'
import { trustProxyWarnings } from './http/trust-proxy.js'
import { GrantCatalog } from './grants/grant-catalog.js'
import { LocalGrantFeed } from './grants/grant-feed.js'
import { RedisGrantFeed } from './grants/redis-grant-feed.js'
import type { GrantStore } from './grants/grant-store.js'
import { SqlGrantStore } from './grants/sql-grant-store.js'
import { FileKeyStore } from './keys/file-key-store.js'
import type { KeyStore } from './keys/key-store.js'
import type { LedgerStore } from './ledger/ledger-store.js'
import { BatchingLedger } from './ledger/batching-ledger.js'
import { SqlLedgerStore } from './ledger/sql-ledger-store.js'
import { LedgerPartitions } from './ledger/ledger-partitions.js'
import { LedgerMaintenance } from './ledger/ledger-maintenance.js'
import { LedgerRetention } from './ledger/ledger-retention.js'
import { LegacyLedgerMove } from './ledger/legacy-ledger-move.js'
import { keptPartitionWarning } from './ledger/partition-bound.js'
import { systemClock, type Clock } from './lib/clock.js'
import { openRedis, waitForRedis } from './lib/redis-connection.js'
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
import type { Redis } from 'ioredis'
import { MemoryBudgetCounter, RedisBudgetCounter, type BudgetCounter } from './http/budget-counter.js'
import { identityBudget } from './http/rate-limits.js'
import { openRestoreGuard } from './restore/restore-guard.js'

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
  keys: KeyStore
  attestors: AttestorRegistry
  exchange: TokenExchange
  introspection: TokenIntrospection
  /** The configured attestors' source forms: what a `source` revocation must be able to match. */
  sourceForms: readonly SourceForm[]
  /** Begun on SIGTERM: readiness fails, new requests are refused, streams end, requests in flight finish. */
  drain: Drain
  /** Where the admin API's request budgets and the token budget per identity are counted: in Redis with REDIS_URL (across instances), else here. */
  rateLimits: BudgetCounter
  /** The Redis connection the budgets are counted on, with REDIS_URL. */
  rateLimitRedis?: Redis
  close(): Promise<void>
}

/** The outside world, replaceable in tests: time and JWKS endpoints. */
export interface Outside {
  clock?: Clock
  fetchJwks?: JwksFetcher
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
  try {
    const database = await openDatabase(config, logger)
    closers.push(() => database.close())
    const applied = await migrate(database)
    if (applied.length > 0) logger.info({ applied }, 'database migrations applied')

    const revocationLog = new SqlRevocationLog(database)
    // Before anything reads or rebuilds revocations from it: a database restored behind them stops here.
    const restoreGuard = await openRestoreGuard(config, revocationLog, clock, logger)
    if (restoreGuard) closers.push(() => restoreGuard.stop())
    const bus = openRevocationBus(config, logger, clock, revocationLog)
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

    const keys = await FileKeyStore.open(config.keys.dir, config.keys.algorithm, logger)
    const attestors = createAttestorRegistry(config.attestors, {
      trustDomain: config.trustDomain,
      audience: config.audience,
      clock,
      skewSeconds: config.clockSkewSeconds,
      maxAttestationBytes: config.limits.maxAttestationBytes,
      fetchJwks: outside.fetchJwks ?? createHttpJwksFetcher(5000),
    })
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
    )
    const ledgerMaintenance = await startLedgerMaintenance(config, database, partitions, clock, logger)
    closers.push(() => ledgerMaintenance.stop())
    const grants = new SqlGrantStore(database, audit)
    const grantCatalog = openGrantCatalog(config, logger, clock, grants)
    closers.push(() => grantCatalog.close())
    await grantCatalog.start()
    const replay = await openReplayGuard(config, database, clock, logger)
    closers.push(() => replay.close())
    const registrations = new SqlRegistrationStore(database, audit)
    const registrationTidy = startRegistrationTidy(config, registrations, clock, logger)
    if (registrationTidy) closers.push(() => registrationTidy.stop())
    const retention = startRetention(config, database, revocationLog, clock, logger)
    closers.push(() => retention.stop())
    const rateLimitRedis = await openRateLimitRedis(config)
    if (rateLimitRedis) closers.push(async () => rateLimitRedis.disconnect())
    const rateLimits = rateLimitRedis
      ? new RedisBudgetCounter(rateLimitRedis, `${config.redis.keyPrefix}rate-limit:`)
      : new MemoryBudgetCounter()
    const exchange = new TokenExchange({
      identityBudget: identityBudget(rateLimits, config.limits.tokenRequestsPerIdentityPerMinute),
      replay,
      registrations,
      attestors,
      grants: grantCatalog,
      revocations,
      ledger,
      signer: new TokenSigner(keys.signingKey()),
      clock,
      issuer: config.issuer,
      defaultTtlSeconds: config.tokens.defaultTtlSeconds,
      maxTtlSeconds: config.tokens.maxTtlSeconds,
    })
    const adminTokens = new SqlAdminTokenStore(database, audit)
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
      attestors,
      exchange,
      introspection: new TokenIntrospection(config.issuer, keys, ledger, revocations, clock, logger),
      sourceForms: sourceFormsOf(config.attestors),
      drain: new Drain(),
      rateLimits,
      ...(rateLimitRedis ? { rateLimitRedis } : {}),
      close: () => closeAll(closers),
    }
  } catch (error) {
    await closeAll(closers)
    throw error
  }
}

async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  if (config.database.url) {
    logger.info({ ledger: 'postgres' }, 'ledger and grants on Postgres (DATABASE_URL)')
    return createPostgresDatabase({
      url: config.database.url,
      poolSize: config.database.poolSize,
      onIdleError: (error) =>
        logger.warn({ err: { message: error.message } }, 'an idle database connection was lost; the pool replaces it'),
    })
  }
  logger.info(
    { ledger: 'pglite', dataDir: config.database.dataDir },
    'ledger and grants on embedded PGlite: single instance only; set DATABASE_URL for Postgres',
  )
  return createPGliteDatabase(config.database.dataDir === 'memory://' ? undefined : config.database.dataDir)
}

function openRevocationBus(config: Config, logger: Logger, clock: Clock, log: RevocationLog): RevocationBus {
  if (config.redis.url) {
    logger.info({ revocations: 'redis' }, 'revocations on Redis (REDIS_URL), durable in the database')
    return new RedisRevocationBus(
      {
        url: config.redis.url,
        keyPrefix: config.redis.keyPrefix,
        commandTimeoutMs: config.redis.commandTimeoutMs,
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
    'revocations reach this process only: run a single instance, or set REDIS_URL so every instance sees every revocation',
  )
  return new LocalRevocationBus(log, clock)
}

/** Grants loaded once, then kept current by their change feed: Redis with REDIS_URL, else this process alone. */
function openGrantCatalog(config: Config, logger: Logger, clock: Clock, grants: GrantStore): GrantCatalog {
  if (config.grants.cacheTtlMs !== undefined)
    logger.warn('grants.cacheTtlMs is ignored: grant changes are pushed; see grants.catchUpIntervalMs and grants.maxStalenessMs')
  const { url, keyPrefix, commandTimeoutMs } = config.redis
  const feed = url ? new RedisGrantFeed({ url, keyPrefix, commandTimeoutMs }, logger) : new LocalGrantFeed()
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
async function openReplayGuard(config: Config, database: Database, clock: Clock, logger: Logger): Promise<ReplayGuard> {
  const record = new SqlReplayGuard(database, clock, {
    onPruneError: (error) => logger.warn({ err: error }, 'expired attestation claims could not be pruned; retrying later'),
  })
  if (!config.redis.url) return record
  const guard = new RedisReplayGuard(
    { url: config.redis.url, keyPrefix: config.redis.keyPrefix, commandTimeoutMs: config.redis.commandTimeoutMs },
    record,
    clock,
  )
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
async function openRateLimitRedis(config: Config): Promise<Redis | undefined> {
  if (!config.redis.url) return undefined
  const redis = openRedis({ url: config.redis.url, commandTimeoutMs: config.redis.commandTimeoutMs })
  // Start-up waits for it, as for replay protection, rather than refusing the first admin requests.
  try {
    await waitForRedis(redis, 'the rate limit store', 'rate_limit_unavailable')
  } catch (error) {
    redis.disconnect()
    throw error
  }
  return redis
}

async function closeAll(closers: (() => Promise<void>)[]): Promise<void> {
  for (const close of closers.reverse()) await close().catch(() => {})
}
