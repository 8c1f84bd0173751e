import type { FastifyInstance } from 'fastify'
import { AdminTokenInput, adminTokenToJson, holdsRolesOf } from '../../admin-tokens/admin-token.js'
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
}

/** /v1/admin-tokens: admin tokens scoped to roles, for resource servers, pipelines and responders. */
export async function adminTokenRoutes(app: FastifyInstance, options: AdminTokenRoutesOptions): Promise<void> {
  const { tokens, clock } = options
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
    const now = new Date(clock.now())
    const expiresAt = input.expiresAt === undefined ? null : new Date(input.expiresAt)
    if (expiresAt !== null && expiresAt <= now)
      throw new InvalidInputError('expiresAt must be in the future', [{ path: 'expiresAt', message: 'must be in the future' }])
    const { token, secret } = await tokens.create({ name: input.name, roles: input.roles, expiresAt }, now, actorOf(request))
    request.log.info({ adminTokenId: token.id, name: token.name, roles: token.roles }, 'admin token created')
    // The only time the secret is ever shown: it is not stored, and never logged.
    return reply
      .code(201)
      .header('cache-control', 'no-store')
      .send({ adminToken: adminTokenToJson(token), token: secret })
  })

  // Symmetric with creating: a token sees and revokes only tokens whose every role it holds itself,
  // so a narrow admin-tokens:write token can neither map nor cut off more powerful ones.
  app.get('/v1/admin-tokens', { config, schema: adminTokenOperations.list }, async (request) => ({
    adminTokens: (await tokens.list())
      .filter((token) => request.admin !== null && holdsRolesOf(request.admin, token))
      .map(adminTokenToJson),
  }))

  app.delete('/v1/admin-tokens/:id', { config, schema: adminTokenOperations.revoke }, async (request) => {
    const { id } = parseOrProblem(AdminTokenIdParams, request.params, 'path')
    const revoked = await tokens.revoke(id, new Date(clock.now()), actorOf(request), (token) => {
      if (request.admin !== null && holdsRolesOf(request.admin, token)) return
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
