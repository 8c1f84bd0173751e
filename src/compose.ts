import type { SpanExporter } from '@opentelemetry/sdk-trace-base'
import type { Logger } from 'pino'
import type { AdminTokenStore } from './admin-tokens/admin-token-store.js'
import { AdminTokenVerifier } from './admin-tokens/admin-token-verifier.js'
import { OidcAdminVerifier } from './admin-tokens/oidc-admin-verifier.js'
import { readConsoleFiles, type ConsoleFiles } from './console/console-files.js'
import { SqlAdminTokenStore } from './admin-tokens/sql-admin-token-store.js'
import type { AuditLog } from './audit/audit-log.js'
import { SqlAuditLog } from './audit/sql-audit-log.js'
import { openSigningKeys } from './composition/keys.js'
import { jwksFetcher, openMetrics, openTracing } from './composition/observability.js'
import { openReloads } from './composition/reloads.js'
import { openReplayGuard } from './composition/replay.js'
import { openRevocationBus } from './composition/revocation.js'
import { openGrantCatalog } from './composition/grants.js'
import { openLedgerChains } from './composition/ledger-chains.js'
import { warnAtStart } from './composition/startup-warnings.js'
import { openDatabase, openRateLimitRedis } from './composition/stores.js'
import { startLedgerMaintenance, startRegistrationTidy, startRetention } from './composition/upkeep.js'
import type { Config, ConfigSource } from './config.js'
import type { Database } from './db/database.js'
import { migrate } from './db/migrations.js'
import { TokenExchange } from './exchange/token-exchange.js'
import type { GrantCatalog } from './grants/grant-catalog.js'
import type { GrantStore } from './grants/grant-store.js'
import { SqlGrantStore } from './grants/sql-grant-store.js'
import { MemoryBudgetCounter, RedisBudgetCounter, type BudgetCounter } from './http/budget-counter.js'
import { identityBudget } from './http/rate-limits.js'
import type { JwksFetcher } from './jose/jwks-fetcher.js'
import type { KeyRing } from './keys/key-ring.js'
import type { KeyService } from './keys/key-service.js'
import type { Signer } from './keys/signer.js'
import { BatchingLedger } from './ledger/batching-ledger.js'
import { LedgerVerifier } from './ledger/chain/ledger-verifier.js'
import { ExportingAuditLog } from './ledger/export/exporting-audit-log.js'
import { LedgerPartitions } from './ledger/ledger-partitions.js'
import type { LedgerStore } from './ledger/ledger-store.js'
import { SqlLedgerStore } from './ledger/sql-ledger-store.js'
import type { IdentityInventory } from './inventory/identity-inventory.js'
import { SqlIdentityInventory } from './inventory/sql-identity-inventory.js'
import { InventoryRecorder } from './inventory/inventory-recorder.js'
import { SqlIdentityRollups } from './inventory/sql-identity-rollups.js'
import { systemClock, type Clock } from './lib/clock.js'
import { Drain } from './lib/drain.js'
import type { RedisClient } from './lib/redis-connection.js'
import { SettingsHolder, type Settings } from './lib/settings-holder.js'
import type { Metrics, ScrapeSource } from './metrics/metrics.js'
import { allObservers, type ExchangeObserver } from './observability/exchange-observer.js'
import type { ReloadService } from './reload/reload-service.js'
import { runtimeSettingsOf, type AttestorOutside, type RuntimeSettings } from './reload/runtime-settings.js'
import { observeReplayGuard } from './replay/observed-replay-guard.js'
import type { RegistrationStore } from './replay/registration-store.js'
import type { RegistrationTidy } from './replay/registration-tidy.js'
import { SqlRegistrationStore } from './replay/sql-registration-store.js'
import { openRestoreGuard } from './restore/restore-guard.js'
import { LeastPrivilegeReporter } from './reports/least-privilege-report.js'
import { SqlGrantUsageReader } from './reports/sql-grant-usage.js'
import { UnusedGrantPolicy } from './reports/unused-grant-policy.js'
import type { RetentionMaintenance } from './retention/retention-maintenance.js'
import { RevocationCache } from './revocation/revocation-cache.js'
import { RevocationService } from './revocation/revocation-service.js'
import { HolderRevocation } from './revocation/holder-revocation.js'
import { DpopHolderKeyProof } from './dpop/dpop-holder-proof.js'
import { SqlLiveTokenCounter } from './revocation/sql-live-token-counter.js'
import { SqlRevocationLog } from './revocation/sql-revocation-log.js'
import { TokenIntrospection } from './tokens/introspection.js'
import { TokenSigner } from './tokens/token-signer.js'
import { SourceHasher, sourceHashKeyFor } from './tokens/source-hash.js'
import { openDpop, type Dpop } from './composition/dpop.js'
import type { Tracing } from './tracing/tracing.js'

/** Everything the HTTP layer needs, built once. */
export interface Services {
  config: Config
  logger: Logger
  clock: Clock
  database: Database
  ledger: LedgerStore
  /** Walks the ledger's hash chains: `sts ledger verify`, POST /v1/ledger:verify. */
  ledgerVerifier: LedgerVerifier
  /** The inventory of identities: roll-ups the ledger's writer keeps, written behind it. */
  inventory: IdentityInventory
  /** Gathers the roll-ups of each committed ledger batch and writes them every `inventory.flushIntervalSeconds`. */
  inventoryRecorder: InventoryRecorder
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
  /** Granted versus used: GET /v1/reports/least-privilege, from the grants and the inventory's roll-ups. */
  leastPrivilege: LeastPrivilegeReporter
  /** Makes audit partitions ahead; applies `audit.retentionDays` and `revocations.retentionDays` (and `grants.disableUnusedAfterDays`). */
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
  /** DPoP proofs at the token endpoint, and the nonces with `dpop.nonce: required`. */
  dpop: Dpop
  introspection: TokenIntrospection
  /** POST /oauth2/revoke: RFC 7009 revocation by a token's holder. */
  holderRevocation: HolderRevocation
  /** Keyed hashes of source ids: in tokens (`src_h`) and in the admin API's source revocations. */
  sourceHasher: SourceHasher
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
  /** The incident console's files, read at start; undefined with `console.enabled: false`. */
  consoleFiles: ConsoleFiles | undefined
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

/** The composition root: the only place that picks implementations (this file, and src/composition/ a file per concern). */
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
    // Closed after everything that writes to the ledger or the audit log: their last events are exported, the last heads anchored.
    const ledgerChains = openLedgerChains(config, clock, logger, metrics)
    closers.push(async () => {
      await ledgerChains.anchor.stop()
      await ledgerChains.exporter?.close(1000)
    })

    const revocationLog = new SqlRevocationLog(database)
    // Before anything reads or rebuilds revocations from it: a database restored behind them stops here.
    const restoreGuard = await openRestoreGuard(config, revocationLog, clock, logger, metrics.redis)
    if (restoreGuard) closers.push(() => restoreGuard.stop())
    const bus = openRevocationBus(config, logger, clock, revocationLog, metrics)
    closers.push(() => bus.close())
    const revocations = new RevocationCache(clock, bus.maxStalenessMs)
    await bus.start(revocations)
    const audit = ledgerChains.exporter
      ? new ExportingAuditLog(new SqlAuditLog(database), ledgerChains.exporter)
      : new SqlAuditLog(database)
    const revocationService = new RevocationService(
      revocationLog,
      bus,
      audit,
      new SqlLiveTokenCounter(database, config.tokens.maxTtlSeconds, config.revocations.countBudgetMs),
      clock,
      logger,
    )

    const attestorOutside: AttestorOutside = {
      clock,
      fetchJwks: jwksFetcher(outside.fetchJwks, tracing),
      jwksObserver: metrics.jwks,
    }
    const runtime = new SettingsHolder(runtimeSettingsOf(config, attestorOutside))
    const signingKeys = await openSigningKeys(config, database, audit, revocationService, revocationLog, clock, logger, metrics, runtime)
    closers.push(() => signingKeys.close())
    const { ring: keys, service: keyService, signer } = signingKeys
    warnAtStart(config, runtime.current().attestors, logger)

    const inventoryRecorder = new InventoryRecorder({
      rollups: new SqlIdentityRollups(database),
      intervalMs: config.inventory.flushIntervalSeconds * 1000,
      maxPendingRows: config.inventory.maxPendingRows,
      logger,
      observer: metrics.inventory,
    })
    inventoryRecorder.start()
    // Closed before the database (closers run in reverse), after the requests in flight have drained.
    closers.push(() => inventoryRecorder.close())
    const partitions = new LedgerPartitions(database, config.ledger.partitionInterval)
    const ledger = new BatchingLedger(
      new SqlLedgerStore(database, {
        partitions,
        maxTtlSeconds: config.tokens.maxTtlSeconds,
        onPartitionCreated: (created) =>
          logger.warn({ created }, 'ledger partitions created by an insert: the ledger maintenance is behind'),
        chains: ledgerChains.chains,
        onCommitted: inventoryRecorder,
      }),
      undefined,
      metrics.ledger,
      ledgerChains.chains.lanes,
    )
    const inventory = new SqlIdentityInventory(database)
    const ledgerMaintenance = await startLedgerMaintenance(config, database, partitions, inventory, clock, logger)
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
    const grantUsage = new SqlGrantUsageReader(database)
    const afterDays = config.grants.disableUnusedAfterDays
    const unusedGrants =
      afterDays === undefined
        ? undefined
        : new UnusedGrantPolicy({
            database,
            grants,
            usage: grantUsage,
            announce: () => grantCatalog.announceChange(),
            clock,
            logger,
            afterDays,
          })
    const retention = startRetention(config, database, revocationLog, clock, logger, unusedGrants)
    closers.push(() => retention.stop())
    const rateLimitRedis = await openRateLimitRedis(config, metrics, tracing)
    if (rateLimitRedis) closers.push(async () => rateLimitRedis.disconnect())
    const rateLimits = rateLimitRedis
      ? new RedisBudgetCounter(rateLimitRedis, `${config.redis.keyPrefix}rate-limit:`)
      : new MemoryBudgetCounter()
    const sharedSecret = sourceHashKeyFor({
      sourceHashKey: config.tokens.sourceHashKey,
      keyEncryptionKey: config.keys.encryptionKey,
      dataDir: config.database.dataDir,
    })
    const sourceHasher = new SourceHasher(sharedSecret)
    const introspection = new TokenIntrospection(config.issuer, keys, ledger, revocations, clock, logger, sourceHasher)
    const exchange = new TokenExchange({
      identityBudget: identityBudget(rateLimits, config.limits.tokenRequestsPerIdentityPerMinute),
      replay,
      registrations,
      settings: runtime,
      grants: grantCatalog,
      revocations,
      ledger,
      signer: new TokenSigner(keys, signer),
      sourceHasher,
      clock,
      issuer: config.issuer,
      maxTtlSeconds: config.tokens.maxTtlSeconds,
      ourTokens: introspection,
      maxChainDepth: config.delegation.maxChainDepth,
    })
    const adminTokens = new SqlAdminTokenStore(database, audit)
    const reloads = openReloads(config, logger, { runtime, attestorOutside, audit, database, clock, metrics, source: outside.configSource })
    closers.push(() => reloads.close())
    await reloads.start()
    metrics.watch({ revocations, grants: grantCatalog, database })
    const dpop = openDpop(config, replay, clock, sharedSecret)
    return {
      config,
      logger,
      clock,
      database,
      ledger,
      ledgerVerifier: new LedgerVerifier(database),
      inventory,
      inventoryRecorder,
      grants,
      grantCatalog,
      revocations,
      revocationService,
      audit,
      adminTokens,
      adminTokenVerifier: new AdminTokenVerifier({
        bootstrapToken: config.admin.token,
        tokens: adminTokens,
        clock,
        // The attestors' fetcher (traced, replaceable in tests) fetches the provider's discovery document and keys.
        ...(config.admin.oidc ? { oidc: new OidcAdminVerifier(config.admin.oidc, { fetch: attestorOutside.fetchJwks, clock }) } : {}),
      }),
      registrations,
      registrationTidy,
      retention,
      keys,
      keyService,
      signer,
      runtime,
      reloads,
      exchange,
      dpop,
      leastPrivilege: new LeastPrivilegeReporter(grants, grantUsage, () => runtime.current().guardrails, clock),
      introspection,
      holderRevocation: new HolderRevocation(introspection, revocationService, new DpopHolderKeyProof(dpop.revocationVerifier)),
      sourceHasher,
      drain: new Drain(),
      rateLimits,
      ...(rateLimitRedis ? { rateLimitRedis } : {}),
      metrics,
      scrape,
      consoleFiles: config.console.enabled ? readConsoleFiles() : undefined,
      exchangeObserver: allObservers(tracing ? [metrics.exchanges, tracing.exchanges] : [metrics.exchanges]),
      tracing,
      close: () => closeAll(closers),
    }
  } catch (error) {
    await closeAll(closers)
    throw error
  }
}

async function closeAll(closers: (() => Promise<void>)[]): Promise<void> {
  for (const close of closers.reverse()) await close().catch(() => {})
}
