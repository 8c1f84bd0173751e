import { z } from 'zod'

/**
 * The `admin` section of the configuration (src/config.ts reads it, and STS_ADMIN_TOKEN from the
 * environment): the bootstrap admin token, which opens the admin API and introspection.
 */
export const AdminConfig = z
  .object({ token: z.string().min(24, 'the admin token must be at least 24 characters').optional() })
  .strict()
  .default({})
