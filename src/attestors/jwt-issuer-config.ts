import { z } from 'zod'
import { JWS_ALGORITHMS } from '../jose/algorithms.js'

/**
 * What every attestor of JWTs from an OIDC-style issuer (GCP, GitHub Actions, any OIDC issuer)
 * configures the same way: the exact issuer, where its keys come from, the algorithms and the longest
 * token lifetime accepted, and the audience. Each kind's config.ts adds its own fields, defaults and
 * rules on top; jwt-attestor.ts builds the attestor around them.
 */

export const JwsAlgorithm = z.enum(JWS_ALGORITHMS)
export type JwsAlgorithm = z.infer<typeof JwsAlgorithm>

const Jwk = z.looseObject({ kty: z.string(), kid: z.string().optional() })
export const JwksDocument = z.object({ keys: z.array(Jwk).min(1, 'a JWKS needs at least one key') })

/** DNS-1123 label: attestor names appear in source ids and, for some kinds, in SPIFFE IDs. */
export const AttestorName = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS label (lowercase letters, digits, "-")')

/** An issuer is compared exactly with `iss`, so it is kept as written (no normalisation). */
export const IssuerUrl = z.url({ protocol: /^https?$/ })

interface IssuerDefaults {
  algorithms: [JwsAlgorithm, ...JwsAlgorithm[]]
  maxTokenLifetimeSeconds: number
  singleUse: boolean
}

/**
 * The fields every JWT attestor config shares; `issuer` is passed in so a kind can give it a default.
 *
 * @example
 * const GcpAttestorConfig = z.object({ kind: z.literal('gcp'), name: AttestorName.default('gcp'),
 *   ...jwtIssuerFields(IssuerUrl.default(GOOGLE_ISSUER), { algorithms: ['RS256'], maxTokenLifetimeSeconds: 3600, singleUse: false }) })
 */
export function jwtIssuerFields<Issuer extends z.ZodType<string, unknown>>(issuer: Issuer, defaults: IssuerDefaults) {
  return {
    issuer,
    jwks: JwksDocument.optional(),
    jwksFile: z.string().min(1).optional(),
    jwksUri: z.url({ protocol: /^https?$/ }).optional(),
    /** What tokens must be addressed to (`aud`); defaults to the top-level `audience`. */
    audience: z.string().min(1).optional(),
    algorithms: z.array(JwsAlgorithm).min(1).default(defaults.algorithms),
    /** The longest `exp - iat` accepted: a guard against an issuer minting long-lived tokens. */
    maxTokenLifetimeSeconds: z.number().int().positive().default(defaults.maxTokenLifetimeSeconds),
    jwksCacheSeconds: z.number().int().positive().default(300),
    /** The least time between two fetches of the JWKS prompted by an unknown `kid`. */
    jwksRefreshCooldownSeconds: z.number().int().nonnegative().default(30),
    /** Accept each token once only (by its `jti`, else its hash), across all instances, until it expires. */
    singleUse: z.boolean().default(defaults.singleUse),
  }
}

/** A parsed config with the shared fields. */
export interface JwtIssuerConfig {
  name: string
  issuer: string
  jwks?: unknown
  jwksFile?: string | undefined
  jwksUri?: string | undefined
  audience?: string | undefined
  algorithms: readonly JwsAlgorithm[]
  maxTokenLifetimeSeconds: number
  jwksCacheSeconds: number
  jwksRefreshCooldownSeconds: number
  singleUse: boolean
}

type KeySource = Pick<JwtIssuerConfig, 'jwks' | 'jwksFile' | 'jwksUri'>

/**
 * For `superRefine`: exactly one of jwks, jwksFile and jwksUri, or at most one when the kind has a
 * default JWKS URI (Google's, GitHub's).
 */
export function checkKeySource(config: KeySource, ctx: z.RefinementCtx, defaultJwksUri?: string): void {
  const given = [config.jwks, config.jwksFile, config.jwksUri].filter((v) => v !== undefined).length
  if (defaultJwksUri === undefined && given !== 1) {
    ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of jwks, jwksFile or jwksUri' })
  } else if (given > 1) {
    ctx.addIssue({
      code: 'custom',
      path: [],
      message: "give at most one of jwks, jwksFile or jwksUri (with none, the issuer's published JWKS is fetched)",
    })
  }
}
