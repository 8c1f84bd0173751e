import type { FastifyInstance } from 'fastify'
import {
  AdminTokenInput,
  adminTokenToJson,
  holdsRolesOf,
  mayManage,
  type AdminIdentity,
  type AdminToken,
} from '../../admin-tokens/admin-token.js'
import { scopeWithin, type TeamScope } from '../../admin-tokens/team-scope.js'
import type { AdminTokenStore } from '../../admin-tokens/admin-token-store.js'
import { ForbiddenError, InvalidInputError, NotFoundError } from '../../errors.js'
import type { Clock } from '../../lib/clock.js'
import { clipUntrusted } from '../../lib/untrusted-text.js'
import { actorOf } from './admin-scope.js'
import { AdminTokenIdParams, adminTokenOperations } from './admin-token-operations.js'
import { parseOrProblem } from './validation.js'

export interface AdminTokenRoutesOptions {
  tokens: AdminTokenStore
  clock: Clock
  lifetime: AdminTokenLifetime
}

/** `admin.tokenDefaultTtlDays` and `admin.tokenMaxTtlDays`. */
export interface AdminTokenLifetime {
  defaultDays: number
  maxDays: number
}

const DAY_MS = 86_400_000

/** /v1/admin-tokens: admin tokens scoped to roles, for resource servers, pipelines and responders. */
export async function adminTokenRoutes(app: FastifyInstance, options: AdminTokenRoutesOptions): Promise<void> {
  const { tokens, clock, lifetime } = options
  const config = { role: 'admin-tokens:write' as const }

  app.post('/v1/admin-tokens', { config, schema: adminTokenOperations.create }, async (request, reply) => {
    const input = parseOrProblem(AdminTokenInput, request.body, 'admin token')
    // No token can make a token more powerful than itself.
    const beyond = input.roles.filter((role) => !request.admin?.roles.has(role))
    if (beyond.length > 0)
      throw new ForbiddenError(
        `the admin token ${request.admin?.name} cannot grant roles it does not have: ${beyond.join(', ')}`,
        'roles_beyond_own',
      )
    // Nor wider: a team's token makes tokens for (part of) its own team, never an unrestricted one.
    const scope = input.scope ?? null
    if (request.admin !== null && !scopeWithin(scope, request.admin.scope)) throw scopeBeyondOwn(request.admin, scope, 'make')
    const now = new Date(clock.now())
    // A secret made through the API expires, by default: the ones nobody remembers making stop working.
    const expiresAt = input.expiresAt === undefined ? new Date(now.getTime() + lifetime.defaultDays * DAY_MS) : new Date(input.expiresAt)
    if (expiresAt <= now)
      throw new InvalidInputError('expiresAt must be in the future', [{ path: 'expiresAt', message: 'must be in the future' }])
    if (expiresAt.getTime() > now.getTime() + lifetime.maxDays * DAY_MS) {
      const message = `must be at most ${lifetime.maxDays} days ahead (admin.tokenMaxTtlDays)`
      throw new InvalidInputError(`expiresAt ${message}`, [{ path: 'expiresAt', message }])
    }
    const { token, secret } = await tokens.create({ name: input.name, roles: input.roles, expiresAt, scope }, now, actorOf(request))
    request.log.info({ adminTokenId: token.id, name: token.name, roles: token.roles, scope: token.scope }, 'admin token created')
    // The only time the secret is ever shown: it is not stored, and never logged.
    return reply
      .code(201)
      .header('cache-control', 'no-store')
      .send({ adminToken: adminTokenToJson(token), token: secret })
  })

  // Symmetric with creating: a token sees and revokes only tokens whose every role it holds itself and
  // whose scope lies within its own, so a narrow admin-tokens:write token can neither map nor cut off
  // more powerful ones, nor another team's.
  app.get('/v1/admin-tokens', { config, schema: adminTokenOperations.list }, async (request) => ({
    adminTokens: (await tokens.list()).filter((token) => request.admin !== null && mayManage(request.admin, token)).map(adminTokenToJson),
  }))

  app.delete('/v1/admin-tokens/:id', { config, schema: adminTokenOperations.revoke }, async (request) => {
    const { id } = parseOrProblem(AdminTokenIdParams, request.params, 'path')
    const revoked = await tokens.revoke(id, new Date(clock.now()), actorOf(request), (token) => {
      if (request.admin !== null && mayManage(request.admin, token)) return
      if (request.admin !== null && holdsRolesOf(request.admin, token)) throw scopeBeyondOwn(request.admin, token.scope, 'revoke', token)
      const beyond = token.roles.filter((role) => !request.admin?.roles.has(role))
      throw new ForbiddenError(
        `the admin token ${request.admin?.name} cannot revoke an admin token with roles it does not have: ${beyond.join(', ')}`,
        'roles_beyond_own',
      )
    })
    if (!revoked) throw new NotFoundError(`no usable admin token with id ${clipUntrusted(id)}`, 'admin_token_not_found')
    request.log.warn({ adminTokenId: id, name: revoked.name }, 'admin token revoked')
    return { adminToken: adminTokenToJson(revoked) }
  })
}

function scopeBeyondOwn(caller: AdminIdentity, scope: TeamScope | null, verb: 'make' | 'revoke', token?: AdminToken): ForbiddenError {
  const own =
    caller.scope === null ? 'none' : `owners ${caller.scope.owners.join(', ')}, subjects under ${caller.scope.subjectPrefixes.join(', ')}`
  const what = token === undefined ? 'a token' : `admin token ${token.name}`
  const theirs =
    scope === null
      ? 'without a scope (unrestricted)'
      : `for owners ${scope.owners.join(', ')}, subjects under ${scope.subjectPrefixes.join(', ')}`
  return new ForbiddenError(
    `the admin token ${caller.name} cannot ${verb} ${what} ${theirs}: only one whose owners are among its own and whose prefixes lie under its own (its scope: ${own})`,
    'scope_beyond_own',
  )
}
