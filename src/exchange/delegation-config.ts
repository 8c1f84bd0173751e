import { z } from 'zod'

/**
 * The `delegation` section of the configuration (src/config.ts reads it): RFC 8693 delegation at the
 * token endpoint. Fixed for the life of the process.
 */
export const DelegationConfig = z
  .object({
    /**
     * The most actors a token's `act` chain may name (the actor of this exchange and those before it).
     * A request that would make it longer is refused: every hop is one more party a resource server
     * must trust, and one more place the token can leak.
     */
    maxChainDepth: z.number().int().min(1).max(10).default(3),
  })
  .strict()
  .default({ maxChainDepth: 3 })

export type DelegationConfig = z.infer<typeof DelegationConfig>
