import { z } from 'zod'
import { keptPartitions, MAX_KEPT_PARTITIONS } from './partition-bound.js'

/** The `ledger` section of the configuration (src/config.ts reads it): its partitions and their retention. */
export const LedgerConfig = z
  .object({
    /** Partitions (and their tokens) older than this are dropped once every token in them has expired; 0 keeps everything. */
    retentionDays: z.number().int().nonnegative().max(36_500).default(90),
    /** One partition per UTC day, or per hour at high rates (tens of millions of tokens a day). */
    partitionInterval: z.enum(['day', 'hour']).default('day'),
    /** How often each instance creates the partitions ahead, applies retention and resumes the upgrade's move. */
    maintenanceIntervalSeconds: z.number().int().min(10).max(86_400).default(600),
  })
  .strict()
  .default({ retentionDays: 90, partitionInterval: 'day', maintenanceIntervalSeconds: 600 })

/**
 * Hourly partitions kept past MAX_KEPT_PARTITIONS: the problem with `ledger.retentionDays`, or undefined.
 * Checked with the whole configuration's (src/config/config-schema.ts), after every section has parsed.
 */
export function hourlyPartitionProblem(ledger: z.output<typeof LedgerConfig>): string | undefined {
  const { retentionDays, partitionInterval } = ledger
  if (partitionInterval !== 'hour' || keptPartitions(retentionDays, partitionInterval) <= MAX_KEPT_PARTITIONS) return undefined
  return (
    `hourly partitions keep ${retentionDays === 0 ? 'every hour forever' : `${retentionDays * 24} partitions`}, more than ${MAX_KEPT_PARTITIONS}: ` +
    `a search without a time bound would lock them all; with partitionInterval hour, retentionDays must be 1 to ${Math.floor(MAX_KEPT_PARTITIONS / 24)}`
  )
}
