import { z } from 'zod'
import { AdminOidcConfig } from './oidc-config.js'

/**
 * The `admin` section of the configuration (src/config.ts reads it, and STS_ADMIN_TOKEN from the
 * environment): the bootstrap admin token, which opens the admin API and introspection, and how long
 * the admin tokens made through the API last.
 */
export const AdminConfig = z
  .object({
    token: z.string().min(24, 'the admin token must be at least 24 characters').optional(),
    /** A token made without `expiresAt` expires this many days after it is made: a forgotten secret does not live for ever. */
    tokenDefaultTtlDays: z.number().int().positive().max(3650).default(90),
    /** No token made through the API lives longer than this; a later `expiresAt` is refused. */
    tokenMaxTtlDays: z.number().int().positive().max(3650).default(365),
    /** Sign-in with the organization's identity provider (src/admin-tokens/oidc-config.ts); fixed until a restart. */
    oidc: AdminOidcConfig.optional(),
  })
  .strict()
  .default({ tokenDefaultTtlDays: 90, tokenMaxTtlDays: 365 })
  .refine((admin) => admin.tokenDefaultTtlDays <= admin.tokenMaxTtlDays, {
    message: 'tokenDefaultTtlDays must not be longer than tokenMaxTtlDays',
    path: ['tokenDefaultTtlDays'],
  })
