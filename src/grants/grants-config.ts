import { z } from 'zod'
import { GuardrailsConfig } from './guardrails/guardrails-config.js'

/** The `grants` section of the configuration (src/config.ts reads it): grant lifetimes and how fresh each instance's copy is. */
export const GrantsConfig = z
  .object({
    defaultLifetimeDays: z.number().int().positive().default(90),
    /** How often an instance reads the grant changes whatever the feed says: the safety net for lost messages. */
    catchUpIntervalMs: z.number().int().positive().default(1000),
    /** Without reading the grant changes for longer than this, an instance refuses to issue until it has. */
    maxStalenessMs: z.number().int().positive().default(5000),
    /**
     * Deprecated, ignored (the service warns): grants are no longer reloaded on a timer. Still accepted so
     * one configuration file serves both releases during a rolling upgrade.
     */
    cacheTtlMs: z.number().int().nonnegative().optional(),
    /**
     * Opt-in: grants that gave no token for this many days (and are older than that) are disabled by
     * the retention upkeep, as `seed-sts` with the reason (src/reports/unused-grant-policy.ts). Absent: off.
     */
    disableUnusedAfterDays: z.number().int().positive().max(3650).optional(),
    /** Rules every grant written through the admin API is held to (src/grants/guardrails/). */
    guardrails: GuardrailsConfig,
  })
  .strict()
  .default({ defaultLifetimeDays: 90, catchUpIntervalMs: 1000, maxStalenessMs: 5000, guardrails: GuardrailsConfig.parse(undefined) })
  .refine((g) => g.catchUpIntervalMs < g.maxStalenessMs, {
    message: 'catchUpIntervalMs must be shorter than maxStalenessMs, or every pause between catch-ups fails exchanges closed',
    path: ['catchUpIntervalMs'],
  })
