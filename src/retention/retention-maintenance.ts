import type { Logger } from 'pino'
import type { AuditPartitions } from '../audit/audit-partitions.js'
import type { Clock } from '../lib/clock.js'
import type { RevocationLog } from '../revocation/revocation-log.js'

export interface RetentionMaintenanceOptions {
  auditPartitions: AuditPartitions
  revocations: RevocationLog
  clock: Clock
  logger: Logger
  /** Audit partitions wholly older than this are dropped; 0 keeps everything. */
  auditRetentionDays: number
  /** Revocations lifted or expired longer ago than this are pruned; 0 keeps everything. */
  revocationRetentionDays: number
  /** How often each instance runs. */
  intervalMs: number
  /** Revocations pruned per statement (and per transaction). */
  revocationBatchSize: number
  /** Statements per run at most, so one run never holds the database for long; the next run goes on. */
  maxBatchesPerRun?: number
  /** With `grants.disableUnusedAfterDays`: disables the grants unused that long (src/reports/unused-grant-policy.ts). */
  unusedGrants?: { run(): Promise<string[]> }
}

/** Months of audit partitions made ahead of the current one: a timer stopped for weeks still finds them. */
export const AUDIT_MONTHS_AHEAD = 2

const DAY_MS = 86_400_000

export interface RetentionOutcome {
  auditPartitionsMade: string[]
  auditPartitionsDropped: string[]
  revocationsPruned: number
  /** The ids of the grants the unused-grant policy disabled; [] without the policy. */
  grantsDisabled: string[]
}

/**
 * Keeps the audit log and the revocation log within their retention: makes the audit log's monthly
 * partitions ahead of time, drops those retention no longer keeps, and prunes revocations lifted or
 * expired long enough ago; with `grants.disableUnusedAfterDays`, disables the grants unused that long. Each instance of the service runs it on its own timer (and once at start);
 * the stores serialise the work in the database, so it needs no leader. What was removed moves each
 * log's watermark, so cursors before it are answered 410 Gone rather than with a gap.
 */
export class RetentionMaintenance {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<unknown> | undefined

  constructor(private readonly options: RetentionMaintenanceOptions) {}

  /** Runs once now, then on the timer; it never keeps the process alive. */
  start(): void {
    if (this.timer) return
    this.timer = setInterval(() => this.kick(), this.options.intervalMs)
    this.timer.unref()
    this.kick()
  }

  /** Stops the timer and waits for a run in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.running
  }

  /**
   * One run, now. Each part is tried even when another fails (a failure is logged, and the next run
   * tries again); partitions are made before any is dropped, so entries waiting in the default
   * partition are in their month's partition when retention looks.
   */
  async runOnce(): Promise<RetentionOutcome> {
    const made = await this.attempt('cannot make the audit log partitions ahead', () => this.makeAuditPartitions(), [])
    const dropped = await this.attempt('cannot drop the audit log partitions past retention', () => this.dropAuditPartitions(), [])
    const pruned = await this.attempt('cannot prune the revocations past retention', () => this.pruneRevocations(), 0)
    const unused = this.options.unusedGrants
    const disabled = unused === undefined ? [] : await this.attempt('cannot disable the grants unused too long', () => unused.run(), [])
    return { auditPartitionsMade: made, auditPartitionsDropped: dropped, revocationsPruned: pruned, grantsDisabled: disabled }
  }

  private kick(): void {
    if (this.running) return
    this.running = this.runOnce().finally(() => (this.running = undefined))
  }

  private async makeAuditPartitions(): Promise<string[]> {
    const made = await this.options.auditPartitions.prepare(new Date(this.options.clock.now()), AUDIT_MONTHS_AHEAD)
    if (made.length > 0) this.options.logger.info({ partitions: made }, 'audit log partitions made')
    return made
  }

  private async dropAuditPartitions(): Promise<string[]> {
    const { auditRetentionDays, clock, logger } = this.options
    if (auditRetentionDays === 0) return []
    const cutoff = new Date(clock.now() - auditRetentionDays * DAY_MS)
    const dropped = await this.options.auditPartitions.dropBefore(cutoff)
    if (dropped.length > 0)
      logger.info(
        { partitions: dropped, before: cutoff.toISOString() },
        'audit log partitions past retention (audit.retentionDays) dropped',
      )
    return dropped
  }

  private async pruneRevocations(): Promise<number> {
    const { revocationRetentionDays, revocationBatchSize, clock, logger } = this.options
    if (revocationRetentionDays === 0) return 0
    const cutoff = new Date(clock.now() - revocationRetentionDays * DAY_MS)
    let total = 0
    for (let batch = 0; batch < (this.options.maxBatchesPerRun ?? 10); batch++) {
      const pruned = await this.options.revocations.prune(cutoff, revocationBatchSize)
      total += pruned
      if (pruned < revocationBatchSize) break
    }
    if (total > 0)
      logger.info(
        { pruned: total, before: cutoff.toISOString() },
        'revocations lifted or expired before retention (revocations.retentionDays) pruned',
      )
    return total
  }

  private async attempt<T>(failure: string, work: () => Promise<T>, nothing: T): Promise<T> {
    try {
      return await work()
    } catch (error) {
      this.options.logger.error({ err: { message: (error as Error).message } }, `${failure}; trying again at the next run`)
      return nothing
    }
  }
}
