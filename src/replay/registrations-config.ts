import { z } from 'zod'

/** The `registrations` section of the configuration (src/config.ts reads it): the tidy of unused instance registrations. */
export const RegistrationsConfig = z
  .object({
    /** Instance registrations unused this long are forgotten by the tidy; 0 never forgets them. */
    tidyAfterDays: z.number().int().nonnegative().max(3650).default(30),
    /** How often each instance runs the tidy. */
    tidyIntervalSeconds: z.number().int().positive().default(3600),
    /** Registrations forgotten per statement. */
    tidyBatchSize: z.number().int().min(1).max(10_000).default(500),
  })
  .strict()
  .default({ tidyAfterDays: 30, tidyIntervalSeconds: 3600, tidyBatchSize: 500 })
