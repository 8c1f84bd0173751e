import { z } from 'zod'
import { JWS_ALGORITHMS } from '../jose/algorithms.js'

/** What proofs are signed with when `dpop.algorithms` is not configured: common, and asymmetric all. */
export const DEFAULT_DPOP_ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256'] as const

/**
 * The `dpop` section of the configuration (src/config.ts reads it): DPoP proofs (RFC 9449) at the
 * token endpoint. Fixed for the life of the process: a reload that changes it is refused by name.
 */
export const DpopConfig = z
  .object({
    /**
     * The JWS algorithms a proof may be signed with; discovery lists them in
     * `dpop_signing_alg_values_supported`. Asymmetric only: `none` and HS* are not in the list to pick from.
     */
    algorithms: z
      .array(z.enum(JWS_ALGORITHMS, { error: `must be one of ${JWS_ALGORITHMS.join(', ')} (asymmetric algorithms only)` }))
      .min(1)
      .default([...DEFAULT_DPOP_ALGORITHMS]),
    /** How far a proof's `iat` may be from this instance's clock, either way; its `jti` is remembered that long after `iat`. */
    proofWindowSeconds: z.number().int().min(1).max(600).default(60),
    /**
     * `required`: every proof must carry a nonce this deployment handed out (`DPoP-Nonce`), so a proof
     * made ahead of time by a stolen key is useless; `off`: proofs carry none.
     */
    nonce: z.enum(['off', 'required']).default('off'),
    /** How long a nonce is current; the previous one is still accepted, so a nonce lives one to two of these. */
    nonceLifetimeSeconds: z.number().int().min(10).max(3600).default(300),
  })
  .strict()
  .default({ algorithms: [...DEFAULT_DPOP_ALGORITHMS], proofWindowSeconds: 60, nonce: 'off', nonceLifetimeSeconds: 300 })

export type DpopConfig = z.infer<typeof DpopConfig>
