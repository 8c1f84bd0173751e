import type { Actor } from '../audit/audit-log.js'
import type { AdminRole, AdminToken } from './admin-token.js'
import type { TeamScope } from './team-scope.js'

/** A token to make: its scope null for an unrestricted one. */
export interface AdminTokenInputs {
  name: string
  roles: AdminRole[]
  expiresAt: Date | null
  scope: TeamScope | null
}

/** Admin tokens scoped to roles. Every change is written with its audit entry, on one transaction. */
export interface AdminTokenStore {
  /** Makes a token; the secret is in the answer and nowhere else, ever. Throws ConflictError for a name used before. */
  create(input: AdminTokenInputs, now: Date, actor: Actor): Promise<{ token: AdminToken; secret: string }>
  /** Every token, revoked and expired ones too, in creation order. */
  list(): Promise<AdminToken[]>
  /**
   * Revokes a usable token, if `mayRevoke` allows it (checked on the locked row, so no change of the
   * token slips in between); a refusal is `mayRevoke`'s to throw. Undefined when there is no usable token with that id.
   */
  revoke(id: string, now: Date, actor: Actor, mayRevoke?: (token: AdminToken) => void): Promise<AdminToken | undefined>
  /** The token a presented secret belongs to, if it is usable at `now`. */
  findUsable(secret: string, now: Date): Promise<AdminToken | undefined>
}
