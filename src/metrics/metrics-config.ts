import { z } from 'zod'

/** The `metrics` section of the configuration (src/config.ts reads it). */
export const MetricsConfig = z
  .object({
    /** Prometheus metrics at GET /metrics. */
    enabled: z.boolean().default(true),
    /** Serve /metrics on this port only (on `host`), not beside the token endpoint on `port`. */
    port: z.number().int().min(1).max(65_535).optional(),
  })
  .strict()
  .default({ enabled: true })
