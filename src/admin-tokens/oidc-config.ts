import { z } from 'zod'
import { CLAIM_PATH } from '../attestors/oidc/claims.js'
import { IssuerUrl, JwsAlgorithm } from '../attestors/jwt-issuer-config.js'
import { ADMIN_ROLES, SCOPABLE_ROLES } from './admin-token.js'
import { TeamScopeInput } from './team-scope.js'

/**
 * `admin.oidc`: people sign in to the admin API with tokens of the organization's identity provider
 * (its ID tokens or JWT access tokens) instead of pasting admin tokens. Whoever the provider says is
 * in a group gets that group's roles, for everyone or for a team: every group is mapped explicitly,
 * and a token whose groups map to none is refused (src/admin-tokens/oidc-principal.ts combines them).
 */

const ClaimPath = z.string().regex(CLAIM_PATH, 'must be a claim name or a dot path, e.g. groups or realm_access.roles')

/** What members of one group of the identity provider may do. */
export const OidcGroupMapping = z
  .object({
    roles: z.array(z.enum(ADMIN_ROLES)).min(1).max(ADMIN_ROLES.length),
    /** The team its members act for, as an admin token's `scope`. */
    scope: TeamScopeInput.optional(),
    /** Said explicitly, so an omitted `scope` can never make a group unrestricted by accident. */
    unrestricted: z.literal(true).optional(),
  })
  .strict()
  .superRefine((group, ctx) => {
    if ((group.scope === undefined) === (group.unrestricted === undefined))
      ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of scope (the team its members act for) or unrestricted: true' })
    if (group.scope === undefined) return
    const unscopable = group.roles.filter((role) => !(SCOPABLE_ROLES as readonly string[]).includes(role))
    if (unscopable.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['roles'],
        message: `a group with a scope may hold only ${SCOPABLE_ROLES.join(', ')}; not ${unscopable.join(', ')}`,
      })
  })
export type OidcGroupMapping = z.infer<typeof OidcGroupMapping>

export const AdminOidcConfig = z
  .object({
    /** Compared exactly with `iss`; its discovery document (`/.well-known/openid-configuration`) names the JWKS unless `jwksUri` does. */
    issuer: IssuerUrl,
    /** What the tokens must be addressed to (`aud`): the client id of the admin API at the provider. */
    audience: z.string().min(1),
    jwksUri: z.url({ protocol: /^https?$/ }).optional(),
    /** Asymmetric algorithms only: `none` and HMAC are not in the list at all. */
    algorithms: z.array(JwsAlgorithm).min(1).default(['RS256', 'ES256']),
    /** The claim naming the person's groups (a string or a list of strings); a dot path reaches into objects. */
    groupsClaim: ClaimPath.default('groups'),
    /** The claim the audit log names the person by, as `oidc:<value>`. `sub` never changes; `email` reads better but may. */
    nameClaim: ClaimPath.default('sub'),
    /** Group name (a value of `groupsClaim`) -> what its members may do. A group not listed grants nothing. */
    groups: z.record(z.string().min(1).max(256), OidcGroupMapping).refine((groups) => Object.keys(groups).length > 0, {
      message: 'map at least one group: a token whose groups map to none is refused',
    }),
    /**
     * A member of both an unrestricted group and a team's group acts, by default, for its teams only
     * (with the roles of every one of its groups that a scoped principal may hold). `unrestricted`
     * makes it act for everyone, with the roles of its unrestricted groups only.
     */
    mixedGroups: z.enum(['teams', 'unrestricted']).default('teams'),
    clockSkewSeconds: z.number().int().nonnegative().max(600).default(60),
    /** The longest `exp - iat` accepted: a guard against a provider minting long-lived tokens. */
    maxTokenLifetimeSeconds: z
      .number()
      .int()
      .positive()
      .max(7 * 86_400)
      .default(86_400),
    jwksCacheSeconds: z.number().int().positive().default(300),
    /** The least time between two fetches of the JWKS (or the discovery document) prompted by an unknown `kid`. */
    jwksRefreshCooldownSeconds: z.number().int().nonnegative().default(30),
  })
  .strict()
export type AdminOidcConfig = z.infer<typeof AdminOidcConfig>
