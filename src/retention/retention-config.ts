import { z } from 'zod'

/** The `retention` section of the configuration (src/config.ts reads it): the timer of the audit and revocation retention. */
export const RetentionConfig = z
  .object({
    /** How often each instance makes audit partitions ahead and applies both retentions. */
    intervalSeconds: z.number().int().positive().default(3600),
  })
  .strict()
  .default({ intervalSeconds: 3600 })
