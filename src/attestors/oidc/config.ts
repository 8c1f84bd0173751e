import { z } from 'zod'
import { AttestorName, checkKeySource, IssuerUrl, jwtIssuerFields } from '../jwt-issuer-config.js'
import { CLAIM_PATH, exposedName } from './claims.js'
import { compileSubjectTemplate } from './subject-template.js'

/** What grant conditions accept as a claim name (src/grants/grant.ts). */
const CONDITION_CLAIM_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/

const ClaimPath = z.string().regex(CLAIM_PATH, 'must be a claim name or a dot path, e.g. project_path or realm_access.role')
const ExposedClaim = z.string().refine((path) => CLAIM_PATH.test(path) && CONDITION_CLAIM_NAME.test(exposedName(path)), {
  error:
    'must be a claim name or dot path that grant conditions can name: letters, digits, "_" (a "." becomes "_"), starting with a letter, at most 64',
})
const Globs = z.union([z.string().min(1).max(512), z.array(z.string().min(1).max(512)).min(1).max(50)])

export const OidcAttestorConfig = z
  .object({
    kind: z.literal('oidc'),
    name: AttestorName,
    // Single-use by default (by jti, else by hash); an issuer that hands out one token many times needs `singleUse: false`.
    ...jwtIssuerFields(IssuerUrl, { algorithms: ['RS256', 'ES256'], maxTokenLifetimeSeconds: 3600, singleUse: true }),
    /**
     * The SPIFFE ID path: fixed text and placeholders `{sub}`, `{claims.<dot.path>}`, `{iss_host}`
     * (the issuer's host name), `{name}` (this attestor's name), e.g. `oidc/{name}/{sub}`.
     */
    subjectTemplate: z.string().min(1).max(512),
    /** Claims exposed to grant conditions, strings, numbers or booleans; `a.b` is exposed as `a_b`. */
    claims: z.array(ExposedClaim).max(64).default([]),
    /** Claim (dot path) -> glob, or globs of which one must match; a missing claim never matches. */
    requiredClaims: z.record(ClaimPath, Globs).default({}),
    /**
     * The issuer is shared by many tenants (gitlab.com, a SaaS CI): a grant that can match its
     * identities must pin one of `immutableIdClaims` by a condition (the `shared-issuer-unpinned` guardrail).
     */
    shared: z.boolean().default(false),
    /** Entries of `claims` that are immutable ids (a project id, never a name), which grants on a shared issuer pin. */
    immutableIdClaims: z.array(z.string()).max(16).default([]),
  })
  .strict()
  .superRefine((config, ctx) => {
    checkKeySource(config, ctx)
    const template = compileSubjectTemplate(config.subjectTemplate, config)
    if (typeof template === 'string') ctx.addIssue({ code: 'custom', path: ['subjectTemplate'], message: template })
    const seen = new Map<string, string>()
    config.claims.forEach((path, index) => {
      const name = exposedName(path)
      if (seen.has(name))
        ctx.addIssue({
          code: 'custom',
          path: ['claims', index],
          message: `"${path}" and "${seen.get(name)}" would both be exposed as "${name}"`,
        })
      seen.set(name, path)
    })
    checkImmutableIdClaims(config, ctx)
  })

/** A shared issuer names its immutable ids, and each is a claim grant conditions can see. */
function checkImmutableIdClaims(config: { shared: boolean; immutableIdClaims: string[]; claims: string[] }, ctx: z.RefinementCtx): void {
  if (config.shared && config.immutableIdClaims.length === 0)
    ctx.addIssue({
      code: 'custom',
      path: ['immutableIdClaims'],
      message: 'a shared issuer needs the claims that are immutable ids (e.g. [project_id]), which grants on it must pin',
    })
  if (!config.shared && config.immutableIdClaims.length > 0)
    ctx.addIssue({ code: 'custom', path: ['immutableIdClaims'], message: 'is only read with shared: true' })
  config.immutableIdClaims.forEach((claim, index) => {
    if (!config.claims.includes(claim))
      ctx.addIssue({
        code: 'custom',
        path: ['immutableIdClaims', index],
        message: `"${claim}" must also be listed in claims, or no grant condition can pin it`,
      })
  })
}
export type OidcAttestorConfig = z.infer<typeof OidcAttestorConfig>
