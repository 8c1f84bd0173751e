import { z } from 'zod'

/** What an admin token may do. The bootstrap token (STS_ADMIN_TOKEN) has every role. */
export const ADMIN_ROLES = [
  'grants:read',
  'grants:write',
  'revocations:read',
  'revocations:write',
  'ledger:read',
  'registrations:read',
  'registrations:write',
  'audit:read',
  'introspect',
  'admin-tokens:write',
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

export const AdminTokenInput = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'a short lowercase name, e.g. payments-resource-server'),
    roles: z.array(z.enum(ADMIN_ROLES)).min(1).max(ADMIN_ROLES.length),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()

export function adminTokenToJson(token: AdminToken) {
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
