import { z } from 'zod'
import { MAX_TOKEN_LIFETIME_SECONDS } from '../lib/token-lifetime.js'
import { SourceHashKeyText } from './source-hash.js'

/** The `tokens` section of the configuration (src/config.ts reads it): how long issued tokens live, and the key of their source hashes. */
export const TokensConfig = z
  .object({
    defaultTtlSeconds: z.number().int().positive().default(300),
    /** Capped: ledger retention drops a partition without reading it once this has passed since its end. */
    maxTtlSeconds: z.number().int().positive().max(MAX_TOKEN_LIFETIME_SECONDS).default(3600),
    /** The key of the source hashes in tokens (`src_h`) and revocation events, base64 of 32 bytes (STS_SOURCE_HASH_KEY). */
    sourceHashKey: SourceHashKeyText.optional(),
  })
  .strict()
  .default({ defaultTtlSeconds: 300, maxTtlSeconds: 3600 })
  .refine((t) => t.defaultTtlSeconds <= t.maxTtlSeconds, { message: 'defaultTtlSeconds cannot exceed maxTtlSeconds' })
