import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { ADMIN_ROLES, BOOTSTRAP_ACTOR, type AdminIdentity, type AdminRole } from '../../admin-tokens/admin-token.js'
import type { AdminTokenStore } from '../../admin-tokens/admin-token-store.js'
import { ForbiddenError, UnauthenticatedError } from '../../errors.js'
import type { Clock } from '../../lib/clock.js'

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The admin role a route needs. */
    role?: AdminRole
  }
  interface FastifyRequest {
    admin: AdminIdentity | null
  }
}

export interface AdminAuthOptions {
  /** STS_ADMIN_TOKEN: every role. */
  bootstrapToken: string | undefined
  tokens: AdminTokenStore
  clock: Clock
  /** How long a looked-up scoped token is trusted before it is looked up again. */
  cacheMs?: number
}

const BOOTSTRAP: AdminIdentity = { name: BOOTSTRAP_ACTOR, roles: new Set(ADMIN_ROLES) }
const BEARER = /^Bearer ([\x21-\x7E]+)$/i

/**
 * Bearer authentication and role checks for the admin API. The bootstrap token is compared in
 * constant time (both sides hashed first, so neither length nor content leaks through timing); scoped
 * tokens are found by their SHA-256. Each route names its role in its config.
 */
export function adminAuthenticator(options: AdminAuthOptions): (request: FastifyRequest) => Promise<void> {
  const expected = options.bootstrapToken === undefined ? undefined : digest(options.bootstrapToken)
  const cacheMs = options.cacheMs ?? 5000
  const cache = new Map<string, { identity: AdminIdentity | null; until: number }>()

  const identify = async (secret: string): Promise<AdminIdentity | null> => {
    if (expected !== undefined && timingSafeEqual(digest(secret), expected)) return BOOTSTRAP
    const now = options.clock.now()
    const key = digest(secret).toString('hex')
    const cached = cache.get(key)
    if (cached && cached.until > now) return cached.identity
    const token = await options.tokens.findUsable(secret, new Date(now))
    const identity = token ? { name: token.name, roles: new Set(token.roles) } : null
    if (cache.size > 10_000) cache.clear()
    cache.set(key, { identity, until: now + cacheMs })
    return identity
  }

  return async (request) => {
    const header = request.headers.authorization
    const match = typeof header === 'string' ? BEARER.exec(header) : null
    if (!match) throw new UnauthenticatedError('an admin bearer token is required (Authorization: Bearer <token>)', 'admin_token_missing')
    const identity = await identify(match[1]!)
    if (!identity) {
      throw new UnauthenticatedError(
        expected === undefined ? 'the admin token is not valid (and no bootstrap token is configured: STS_ADMIN_TOKEN)' : 'the admin token is not valid',
        'admin_token_invalid',
      )
    }
    const role = request.routeOptions.config.role
    if (role === undefined) throw new Error(`route ${request.routeOptions.url} names no admin role`)
    if (!identity.roles.has(role)) throw new ForbiddenError(`the admin token ${identity.name} does not have the role ${role}`, 'role_missing')
    request.admin = identity
  }
}

/** Who made a change, for the audit log. */
export function actorOf(request: FastifyRequest): { name: string; requestId: string } {
  return { name: request.admin?.name ?? 'unknown', requestId: String(request.id) }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}
