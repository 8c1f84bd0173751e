import type { Logger } from 'pino'
import { MAX_TOKEN_LIFETIME_SECONDS } from '../lib/token-lifetime.js'
import type { LedgerPartition, LedgerPartitions } from './ledger-partitions.js'
import type { LegacyLedgerMove } from './legacy-ledger-move.js'

const DAY_MS = 86_400_000
/** How long the rolling restart onto migration 011 may have gone on, the previous release issuing meanwhile. */
export const ROLLING_RESTART_MS = DAY_MS

/**
 * `ledger.retentionDays`: drops the ledger's oldest partitions once their whole period is older than
 * the retention and every token in them has expired. Known without reading them: a token of this
 * release lives at most MAX_TOKEN_LIFETIME_SECONDS, which a retention of a day already covers, so a
 * partition that ended longer ago than both holds none (a read of a whole partition, with no index on
 * expires_at, takes longer than a statement may at a few million rows a day). Only the partitions
 * that may hold the previous release's tokens (before migration 011, and during its rolling restart),
 * whose lifetimes nothing capped, are read, under their own statement timeout. Oldest first, stopping at the first partition it
 * must keep, so what is kept is always one unbroken stretch of time up to now: a search cursor is
 * either inside it or before it (410 Gone), never in a hole. Every drop is logged.
 */
export class LedgerRetention {
  constructor(
    private readonly partitions: LedgerPartitions,
    private readonly retentionDays: number,
    private readonly logger: Pick<Logger, 'info' | 'warn'>,
    /** Migration 011's move: a partition it has yet to fill is kept (the move deletes what is past retention instead). */
    private readonly legacyMove?: Pick<LegacyLedgerMove, 'oldestUnmoved'>,
  ) {}

  /** Applies retention as of `now`; answers the partitions it dropped. 0 days keeps everything. */
  async apply(now: Date): Promise<LedgerPartition[]> {
    if (this.retentionDays === 0) return []
    const keepFrom = new Date(now.getTime() - Math.max(this.retentionDays * DAY_MS, MAX_TOKEN_LIFETIME_SECONDS * 1000))
    const partitionedSince = await this.partitions.partitionedSince()
    const uncappedBefore = partitionedSince === undefined ? Infinity : partitionedSince.getTime() + ROLLING_RESTART_MS
    const oldestUnmoved = (await this.legacyMove?.oldestUnmoved())?.getTime() ?? Infinity
    const dropped: LedgerPartition[] = []
    for (const partition of await this.partitions.list(undefined, { textRows: true })) {
      if (partition.to > keepFrom || partition.to.getTime() > oldestUnmoved) break
      if (partition.from.getTime() < uncappedBefore && (await this.partitions.holdsLiveTokens(partition, now))) {
        this.logger.warn(
          { partition: partition.name, retentionDays: this.retentionDays },
          'ledger retention keeps a partition past retention: a token in it has not expired yet',
        )
        break
      }
      if (!(await this.partitions.drop(partition))) {
        this.logger.warn({ partition: partition.name }, 'ledger retention could not lock the ledger in time; trying again at the next run')
        break
      }
      this.logger.info(
        {
          partition: partition.name,
          from: partition.from.toISOString(),
          to: partition.to.toISOString(),
          retentionDays: this.retentionDays,
        },
        'ledger retention dropped a partition: its tokens were issued before the retention and have all expired',
      )
      dropped.push(partition)
    }
    return dropped
  }
}
