import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ServiceUnavailableError } from '../errors.js'

type Limiter = ReturnType<FastifyInstance['createRateLimit']>
type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>

/**
 * Request budgets per client address, each ONE bucket for every route it guards. @fastify/rate-limit's
 * per-route config keeps a bucket per route (its stores are per-route children, whatever `groupId`
 * says), so 22 admin routes at 10 a minute were 220 guesses a minute; a limiter made once with
 * `createRateLimit` and hooked on every route of a scope is one budget. The key names the budget, so
 * budgets sharing the Redis store never share counters.
 *
 * A store that cannot answer (Redis, when REDIS_URL is set) fails closed: 503, like every other
 * store. A limit that silently stops limiting while Redis is down is the moment an attacker wants.
 */
export function requestBudget(app: FastifyInstance, name: string, perMinute: number): Hook | undefined {
  if (perMinute <= 0) return undefined
  const limiter = app.createRateLimit({ max: perMinute, timeWindow: 60_000, keyGenerator: (request) => `${name}:${request.ip}` })
  return async (request, reply) => {
    const state = await ask(limiter, request, true)
    if (!state.isAllowed && state.isExceeded) throw tooMany(reply, state.ttl, 'rate limit exceeded')
  }
}

/**
 * A stricter budget of failed authentications (401s) per client address, across the whole admin API
 * and introspection: once spent, the address is refused before its token is even looked at, so
 * guessing admin tokens is slow however many routes there are. Successful requests do not spend it.
 */
export function authFailureBudget(app: FastifyInstance, perMinute: number): { check: Hook; count: Hook } | undefined {
  if (perMinute <= 0) return undefined
  const limiter = app.createRateLimit({ max: perMinute, timeWindow: 60_000, keyGenerator: (request) => `auth-failures:${request.ip}` })
  return {
    check: async (request, reply) => {
      const state = await ask(limiter, request, false)
      if (!state.isAllowed && state.remaining === 0) throw tooMany(reply, state.ttl, 'too many failed authentications from this address')
    },
    count: async (request, reply) => {
      if (reply.statusCode !== 401) return
      // After the answer is sent: a store failure here is logged, the next check fails closed.
      await ask(limiter, request, true).catch((error: unknown) => request.log.warn({ err: error }, 'a failed authentication could not be counted'))
    },
  }
}

async function ask(limiter: Limiter, request: FastifyRequest, increment: boolean) {
  try {
    return await limiter(request, { increment })
  } catch (error) {
    throw new ServiceUnavailableError('the rate limit store cannot be reached', error)
  }
}

function tooMany(reply: FastifyReply, ttlMs: number, what: string): Error {
  const seconds = Math.max(1, Math.ceil(ttlMs / 1000))
  reply.header('retry-after', String(seconds))
  return Object.assign(new Error(`${what}: retry in ${seconds} s`), { statusCode: 429 })
}
