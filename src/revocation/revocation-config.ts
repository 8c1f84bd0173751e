import { z } from 'zod'

/** The `revocations` section of the configuration (src/config.ts reads it). */
export const RevocationsConfig = z
  .object({
    /** Revocations lifted or expired longer ago than this are pruned from the database; 0 keeps them. */
    retentionDays: z.number().int().nonnegative().max(36_500).default(7),
    /** How long counting the live tokens a revocation cuts off may take; the answer says when there were more. */
    countBudgetMs: z.number().int().positive().max(60_000).default(150),
  })
  .strict()
  .default({ retentionDays: 7, countBudgetMs: 150 })
