import { z } from 'zod'

/**
 * The `console` section of the configuration: the incident console at /console. It holds no
 * authority of its own (static files; every action is an admin API call with the admin token the
 * person pastes), so it is on by default; turn it off where nobody should reach the admin API from a
 * browser.
 */
export const ConsoleConfig = z
  .object({
    /** Serve the console at /console. */
    enabled: z.boolean().default(true),
  })
  .strict()
  .default({ enabled: true })
