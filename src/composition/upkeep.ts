import type { Logger } from 'pino'
import { SqlAuditPartitions } from '../audit/sql-audit-partitions.js'
import type { Config } from '../config.js'
import type { Database } from '../db/database.js'
import { INVENTORY_DAILY_RETENTION_DAYS, type IdentityInventory } from '../inventory/identity-inventory.js'
import { BatchCompaction } from '../ledger/chain/batch-compaction.js'
import { LedgerMaintenance } from '../ledger/ledger-maintenance.js'
import type { LedgerPartitions } from '../ledger/ledger-partitions.js'
import { LedgerRetention } from '../ledger/ledger-retention.js'
import { LegacyLedgerMove } from '../ledger/legacy-ledger-move.js'
import type { Clock } from '../lib/clock.js'
import { RegistrationTidy } from '../replay/registration-tidy.js'
import type { RegistrationStore } from '../replay/registration-store.js'
import type { UnusedGrantPolicy } from '../reports/unused-grant-policy.js'
import { RetentionMaintenance } from '../retention/retention-maintenance.js'
import type { RevocationLog } from '../revocation/revocation-log.js'

/** The upkeep each instance runs on its timers: ledger partitions and retention, the registration tidy, audit and revocation retention (and the unused-grant policy). */

/** Partitions for the coming days before the first token is issued, then the upkeep on its timer. */
export async function startLedgerMaintenance(
  config: Config,
  database: Database,
  partitions: LedgerPartitions,
  inventory: Pick<IdentityInventory, 'pruneDailyCounts'>,
  clock: Clock,
  logger: Logger,
): Promise<LedgerMaintenance> {
  const legacyMove = new LegacyLedgerMove(database, partitions, logger, undefined, { retentionDays: config.ledger.retentionDays, clock })
  const maintenance = new LedgerMaintenance({
    partitions,
    retention: new LedgerRetention(partitions, config.ledger.retentionDays, logger, legacyMove),
    legacyMove,
    rollupRetention: { retentionDays: INVENTORY_DAILY_RETENTION_DAYS, prune: (before) => inventory.pruneDailyCounts(before) },
    batchCompaction: new BatchCompaction(database),
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

export function startRegistrationTidy(
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

export function startRetention(
  config: Config,
  database: Database,
  revocations: RevocationLog,
  clock: Clock,
  logger: Logger,
  unusedGrants?: UnusedGrantPolicy,
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
    ...(unusedGrants === undefined ? {} : { unusedGrants }),
  })
  retention.start()
  return retention
}
