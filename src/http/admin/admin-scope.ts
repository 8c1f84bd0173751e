import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { AdminIdentity, AdminRole } from '../../admin-tokens/admin-token.js'
import type { AdminTokenVerifier } from '../../admin-tokens/admin-token-verifier.js'
import { ForbiddenError, UnauthenticatedError } from '../../errors.js'
import type { BudgetCounter } from '../budget-counter.js'
import { authFailureBudget, requestBudget } from '../rate-limits.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The admin role a route needs: every route of an admin scope names one. */
    role?: AdminRole
    /**
     * A narrower role that may call the route too, and is answered less (the route looks at which
     * role the caller holds): `revocations:subscribe` on the revocation listing and stream.
     */
    narrowRole?: AdminRole
  }
  interface FastifyRequest {
    /** Who called, once authenticated; null outside the admin scopes. */
    admin: AdminIdentity | null
  }
}

export interface AdminScopeOptions {
  verifier: AdminTokenVerifier
  /** Where the budgets are counted (Redis with REDIS_URL, so they hold across instances). */
  counter: BudgetCounter
  /** This scope's request budget per client address: one bucket for all its routes; asked per request (a reload may change it). */
  budget: { name: string; perMinute: () => number }
  /** Failed authentications per client address and minute, counted across every admin scope; asked per request. */
  authFailuresPerMinute: () => number
}

/**
 * What every route of an admin scope (the admin API; introspection) shares, declared once for the
 * scope: the failed-authentication budget, the scope's request budget, bearer authentication and the
 * role check. Route files declare their routes and each route's `role`, nothing else. Call it before
 * registering the routes: hooks apply to what is registered after them.
 */
export function guardAdminScope(scope: FastifyInstance, options: AdminScopeOptions): void {
  scope.decorateRequest('admin', null)
  const failures = authFailureBudget(options.counter, options.authFailuresPerMinute)
  const requests = requestBudget(options.counter, options.budget.name, options.budget.perMinute)
  // onRequest: before the token is looked at, so failed guesses are counted and refused too.
  scope.addHook('onRequest', failures.check)
  scope.addHook('onRequest', requests)
  scope.addHook('onResponse', failures.count)
  // After the budgets, so failed guesses count against them, and before the body is parsed, so no
  // unauthenticated body is read.
  scope.addHook('preParsing', async (request) => authenticateAdmin(options.verifier, request))
}

const BEARER = /^Bearer ([\x21-\x7E]+)$/i

/**
 * Bearer authentication and the route's role check. A route that names no role is a defect, refused
 * as a 500 rather than served to any valid token. The revocation stream calls it again while it is open.
 */
export async function authenticateAdmin(verifier: AdminTokenVerifier, request: FastifyRequest): Promise<void> {
  const header = request.headers.authorization
  const match = typeof header === 'string' ? BEARER.exec(header) : null
  if (!match) throw new UnauthenticatedError('an admin bearer token is required (Authorization: Bearer <token>)', 'admin_token_missing')
  const identity = await verifier.identify(match[1])
  if (!identity) {
    throw new UnauthenticatedError(
      verifier.hasBootstrapToken
        ? 'the admin token is not valid'
        : 'the admin token is not valid (and no bootstrap token is configured: STS_ADMIN_TOKEN)',
      'admin_token_invalid',
    )
  }
  const { role, narrowRole } = request.routeOptions.config
  if (role === undefined) throw new Error(`route ${request.routeOptions.url} names no admin role`)
  if (!identity.roles.has(role) && !(narrowRole !== undefined && identity.roles.has(narrowRole))) {
    const roles = narrowRole === undefined ? role : `${role} (or ${narrowRole})`
    throw new ForbiddenError(`the admin token ${identity.name} does not have the role ${roles}`, 'role_missing')
  }
  request.admin = identity
}

/** Who made a change, for the audit log. */
export function actorOf(request: FastifyRequest): { name: string; requestId: string } {
  return { name: request.admin?.name ?? 'unknown', requestId: String(request.id) }
}
