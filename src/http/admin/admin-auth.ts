import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { UnauthorizedProblem } from '../../errors.js'

/**
 * Bearer authentication for the admin API. Both sides are hashed before the constant-time compare so
 * neither the length nor the content of the configured token leaks through timing.
 */
export function adminAuthenticator(adminToken: string | undefined): (request: FastifyRequest) => Promise<void> {
  const expected = adminToken === undefined ? undefined : digest(adminToken)
  return async (request) => {
    if (expected === undefined) {
      throw new UnauthorizedProblem('the admin API is disabled: no admin token is configured (set STS_ADMIN_TOKEN)')
    }
    const header = request.headers.authorization
    const match = typeof header === 'string' ? /^Bearer ([\x21-\x7E]+)$/i.exec(header) : null
    if (!match) throw new UnauthorizedProblem('an admin bearer token is required (Authorization: Bearer <token>)')
    if (!timingSafeEqual(digest(match[1]!), expected)) throw new UnauthorizedProblem('the admin token is not valid')
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}
