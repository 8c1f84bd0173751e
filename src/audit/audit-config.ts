import { z } from 'zod'

/** The `audit` section of the configuration (src/config.ts reads it): how long the audit log is kept. */
export const AuditConfig = z
  .object({
    /** Audit entries are kept at least this long, then dropped a month (one partition) at a time; 0 keeps everything. */
    retentionDays: z.number().int().nonnegative().max(36_500).default(400),
  })
  .strict()
  .default({ retentionDays: 400 })
