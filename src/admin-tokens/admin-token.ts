import { z } from 'zod'
import { Uuid } from '../lib/ids.js'
import { prose } from '../lib/prose.js'
import { scopeWithin, TeamScopeInput, type TeamScope } from './team-scope.js'

/** What an admin token may do. The bootstrap token (STS_ADMIN_TOKEN) has every role. */
export const ADMIN_ROLES = [
  'grants:read',
  'grants:write',
  'revocations:read',
  'revocations:write',
  // Follows the revocations (stream, polling) and nothing else, seeing no reasons and no raw source
  // ids: what a resource server's verifier is given (see src/http/admin/revocation-views.ts).
  'revocations:subscribe',
  'ledger:read',
  // The least-privilege report: grants with what they gave to whom (so both of the above, read-only).
  'reports:read',
  'registrations:read',
  'registrations:write',
  'audit:read',
  'introspect',
  'admin-tokens:write',
  'config:reload',
  'keys:read',
  'keys:write',
] as const
export type AdminRole = (typeof ADMIN_ROLES)[number]

/**
 * The roles a scoped token may hold: those whose answers and changes can be cut to a team. The others
 * see or change what every team shares (the audit log, registrations, keys, the configuration,
 * introspection of any token), and `revocations:subscribe` is a verifier's, which must see every
 * revocation to refuse every revoked token: a verifier gets an unscoped token with that role alone.
 */
export const SCOPABLE_ROLES = [
  'grants:read',
  'grants:write',
  'revocations:read',
  'revocations:write',
  'ledger:read',
  'reports:read',
  'admin-tokens:write',
] as const satisfies readonly AdminRole[]

export interface AdminToken {
  id: string
  name: string
  roles: AdminRole[]
  createdAt: Date
  createdBy: string
  expiresAt: Date | null
  revokedAt: Date | null
  revokedBy: string | null
  /** The team it acts for (src/admin-tokens/team-scope.ts); null: unrestricted. */
  scope: TeamScope | null
}

/** Who is calling the admin API, once authenticated. */
export interface AdminIdentity {
  name: string
  roles: ReadonlySet<AdminRole>
  /** The team it acts for; null: unrestricted (the bootstrap token, an unscoped token). */
  scope: TeamScope | null
}

/** Whether `caller` holds every role of `token`: what it takes to see or revoke it (the bootstrap token holds all). */
export function holdsRolesOf(caller: AdminIdentity, token: AdminToken): boolean {
  return token.roles.every((role) => caller.roles.has(role))
}

/** Whether `caller` may see and revoke `token`: it holds every role of it and its scope is no wider than the caller's. */
export function mayManage(caller: AdminIdentity, token: AdminToken): boolean {
  return holdsRolesOf(caller, token) && scopeWithin(token.scope, caller.scope)
}

/** The name the configured bootstrap token (STS_ADMIN_TOKEN) acts under in the audit log. */
export const BOOTSTRAP_ACTOR = 'bootstrap'
/** The name the service's own automatic actions (such as lifting an expired revocation) are recorded under. */
export const SERVICE_ACTOR = 'seed-sts'
/** Names no admin token may take: the audit log must tell the bootstrap token and the service from any token. */
export const RESERVED_NAMES: readonly string[] = [BOOTSTRAP_ACTOR, SERVICE_ACTOR, 'unknown']

export const AdminTokenInput = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'a short lowercase name, e.g. payments-resource-server')
      .refine((name) => !RESERVED_NAMES.includes(name), `is reserved: no admin token may be named ${RESERVED_NAMES.join(', ')}`)
      .describe('What the audit log and refusals call it, such as `payments-resource-server`.'),
    roles: z.array(z.enum(ADMIN_ROLES)).min(1).max(ADMIN_ROLES.length).describe('What it may do (see the `adminToken` security scheme).'),
    expiresAt: z.iso.datetime({ offset: true }).optional().describe(prose`
      When it stops working; RFC 3339, in the future, at most \`admin.tokenMaxTtlDays\` (365 days)
      ahead. Without it, \`admin.tokenDefaultTtlDays\` (90 days) ahead.
    `),
    scope: TeamScopeInput.optional().describe(prose`
      The team the token acts for. Without it the token is unrestricted, which only an
      unrestricted token can make.
    `),
  })
  .strict()
  .superRefine((input, ctx) => {
    if (input.scope === undefined) return
    const unscopable = input.roles.filter((role) => !(SCOPABLE_ROLES as readonly string[]).includes(role))
    if (unscopable.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['roles'],
        message: `a token with a scope may hold only ${SCOPABLE_ROLES.join(', ')}; not ${unscopable.join(', ')}`,
      })
  })
  .meta({ id: 'AdminTokenInput', description: 'The token to make, as sent to `POST /v1/admin-tokens`. Unknown keys are refused.' })

/** What an admin token looks like on the wire: never its secret. */
export const AdminTokenJson = z
  .object({
    id: Uuid,
    name: z.string(),
    roles: z.array(z.enum(ADMIN_ROLES)),
    createdAt: z.iso.datetime(),
    createdBy: z.string(),
    expiresAt: z.iso.datetime().nullable(),
    revokedAt: z.iso.datetime().nullable(),
    revokedBy: z.string().nullable(),
    scope: z
      .object({ owners: z.array(z.string()), subjectPrefixes: z.array(z.string()) })
      .strict()
      .nullable()
      .describe('The team it acts for (see `TeamScope`); null: unrestricted.'),
  })
  .strict()
  .meta({ id: 'AdminToken', description: 'An admin token as stored, without its secret.' })
export type AdminTokenJson = z.infer<typeof AdminTokenJson>

export function adminTokenToJson(token: AdminToken): AdminTokenJson {
  return {
    id: token.id,
    name: token.name,
    roles: token.roles,
    createdAt: token.createdAt.toISOString(),
    createdBy: token.createdBy,
    expiresAt: token.expiresAt?.toISOString() ?? null,
    revokedAt: token.revokedAt?.toISOString() ?? null,
    revokedBy: token.revokedBy,
    scope: token.scope === null ? null : { owners: [...token.scope.owners], subjectPrefixes: [...token.scope.subjectPrefixes] },
  }
}
