import { z } from 'zod'
import { keptPartitions, MAX_KEPT_PARTITIONS } from './partition-bound.js'

const WebhookUrl = z
  .string()
  .url()
  .refine((url) => /^https?:/.test(url), 'an http or https URL')

/** `ledger.anchor`: the chain heads written outside the database (README, "Tamper evidence"). */
export const LedgerAnchorConfig = z
  .object({
    /** How often each instance anchors the heads of its chains that moved since the last time. */
    intervalSeconds: z.number().int().min(1).max(86_400).default(60),
    /** POSTed the heads as JSON at each anchor, if set. Never logged (it may carry a secret). */
    webhookUrl: WebhookUrl.optional(),
    webhookTimeoutMs: z.number().int().min(100).max(60_000).default(5000),
  })
  .strict()
  .default({ intervalSeconds: 60, webhookTimeoutMs: 5000 })

/** `ledger.export`: ledger and audit events as JSON lines for a SIEM; off unless a sink is set. */
export const LedgerExportConfig = z
  .object({
    /** Appended one JSON line per event. */
    file: z.string().min(1).optional(),
    /** POSTed the events as JSON lines (application/x-ndjson), a batch at a time. Never logged. */
    webhookUrl: WebhookUrl.optional(),
    webhookTimeoutMs: z.number().int().min(100).max(60_000).default(5000),
    /** Events held while the sink is slow or down; past it, new events are dropped (counted and logged). */
    queueSize: z.number().int().min(1).max(1_000_000).default(10_000),
  })
  .strict()
  .default({ webhookTimeoutMs: 5000, queueSize: 10_000 })

/** The `ledger` section of the configuration (src/config.ts reads it): its partitions and their retention. */
export const LedgerConfig = z
  .object({
    /** Partitions (and their tokens) older than this are dropped once every token in them has expired; 0 keeps everything. */
    retentionDays: z.number().int().nonnegative().max(36_500).default(90),
    /** One partition per UTC day, or per hour at high rates (tens of millions of tokens a day). */
    partitionInterval: z.enum(['day', 'hour']).default('day'),
    /** How often each instance creates the partitions ahead, applies retention and resumes the upgrade's move. */
    maintenanceIntervalSeconds: z.number().int().min(10).max(86_400).default(600),
    anchor: LedgerAnchorConfig,
    export: LedgerExportConfig,
  })
  .strict()
  .default({
    retentionDays: 90,
    partitionInterval: 'day',
    maintenanceIntervalSeconds: 600,
    anchor: { intervalSeconds: 60, webhookTimeoutMs: 5000 },
    export: { webhookTimeoutMs: 5000, queueSize: 10_000 },
  })

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
