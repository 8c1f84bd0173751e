import { z } from 'zod'

/** The `inventory` section of the configuration (src/config.ts reads it): how the roll-ups are written behind the ledger. */
export const InventoryConfig = z
  .object({
    /**
     * How often each instance writes the roll-ups it has gathered since the last write: how far behind
     * the ledger the inventory may be, and what a crash loses of it.
     */
    flushIntervalSeconds: z.number().int().min(1).max(300).default(5),
    /** Roll-up rows an instance holds before it writes them early; past it, with writes failing, the oldest are dropped. */
    maxPendingRows: z.number().int().min(100).max(10_000_000).default(100_000),
  })
  .strict()
  .default({ flushIntervalSeconds: 5, maxPendingRows: 100_000 })
