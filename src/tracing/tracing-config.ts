import { z } from 'zod'

/**
 * The `tracing` section of the configuration (src/config.ts reads it, and the OTEL_* variables). Only
 * zod here: the configuration must not load OpenTelemetry, which src/compose.ts imports only when on.
 */
export const TracingConfig = z
  .object({
    /** OpenTelemetry traces exported by OTLP; the standard OTEL_* variables turn them on too (applyEnvironment). */
    enabled: z.boolean().default(false),
    /** Where spans are sent: the OTLP/HTTP (protobuf) traces URL of a collector. */
    endpoint: z.string().url().default('http://localhost:4318/v1/traces'),
    /** The service.name of every span. */
    serviceName: z.string().min(1).default('seed-sts'),
    /** The exporter OTEL_TRACES_EXPORTER names: only OTLP is built in. */
    exporter: z
      .string()
      .refine((name) => name.trim().toLowerCase() === 'otlp', {
        message: 'only the otlp exporter is built in: set OTEL_TRACES_EXPORTER to otlp, or none to turn traces off',
      })
      .optional(),
  })
  .strict()
  .default({ enabled: false, endpoint: 'http://localhost:4318/v1/traces', serviceName: 'seed-sts' })
