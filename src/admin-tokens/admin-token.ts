import { z } from 'zod'
import { Uuid } from '../lib/ids.js'

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

export interface AdminToken {
  id: string
  name: string
  roles: AdminRole[]
  createdAt: Date
  createdBy: string
  expiresAt: Date | null
  revokedAt: Date | null
  revokedBy: string | null
}

/** Who is calling the admin API, once authenticated. */
export interface AdminIdentity {
  name: string
  roles: ReadonlySet<AdminRole>
}

/** Whether `caller` holds every role of `token`: what it takes to see or revoke it (the bootstrap token holds all). */
export function holdsRolesOf(caller: AdminIdentity, token: AdminToken): boolean {
  return token.roles.every((role) => caller.roles.has(role))
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
    expiresAt: z.iso.datetime({ offset: true }).optional().describe('When it stops working; RFC 3339, in the future. Without it, never.'),
  })
  .strict()
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
  }
}
