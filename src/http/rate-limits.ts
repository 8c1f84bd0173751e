import { createHash } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { ErrorReason } from '../error-reasons.js'
import { RateLimitedError, ServiceUnavailableError } from '../errors.js'
import type { IdentityBudget } from '../exchange/token-exchange.js'
import type { BudgetCount, BudgetCounter } from './budget-counter.js'

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>
const MINUTE = 60_000

/**
 * A request budget per client address, ONE bucket for every route it is hooked on. (@fastify/rate-limit's
 * per-route config keeps a bucket per route, whatever `groupId` says: 22 admin routes at 10 a minute
 * were 220 guesses a minute.) The key names the budget, so budgets sharing a counter never mix.
 *
 * A counter that cannot answer (Redis, with REDIS_URL) fails closed: 503, like every other store. A
 * limit that silently stops limiting while Redis is down is the moment an attacker wants.
 *
 * `perMinute` is asked on every request, as a reload may change it (src/reload/); 0 turns the budget off.
 */
export function requestBudget(counter: BudgetCounter, name: string, perMinute: () => number): Hook {
  return async (request, reply) => {
    const limit = perMinute()
    if (limit <= 0) return
    const spent = await ask(() => counter.hit(`${name}:${request.ip}`, MINUTE))
    if (spent.count > limit) throw tooMany(reply, spent, 'rate limit exceeded', 'rate_limited')
  }
}

/**
 * A stricter budget of failed authentications (401s) per client address, shared by every scope it is
 * hooked on (the admin API and introspection): once spent, the address is refused before its token is
 * even looked at, so guessing admin tokens stays slow however many routes there are. Successful
 * requests do not spend it. `perMinute` is asked on every request; 0 turns the budget off.
 */
export function authFailureBudget(counter: BudgetCounter, perMinute: () => number): { check: Hook; count: Hook } {
  const key = (request: FastifyRequest) => `auth-failures:${request.ip}`
  return {
    check: async (request, reply) => {
      const limit = perMinute()
      if (limit <= 0) return
      const spent = await ask(() => counter.peek(key(request)))
      if (spent.count >= limit) throw tooMany(reply, spent, 'too many failed authentications from this address', 'too_many_auth_failures')
    },
    count: async (request, reply) => {
      if (reply.statusCode !== 401 || perMinute() <= 0) return
      // After the answer is sent: a counter failure here is logged, and the next check fails closed.
      await counter
        .hit(key(request), MINUTE)
        .catch((error: unknown) => request.log.warn({ err: error }, 'a failed authentication could not be counted'))
    },
  }
}

/**
 * Token exchanges per attested identity (its subject), on the same counter as the other budgets: with
 * REDIS_URL one budget across instances, so an identity is not allowed N a minute per replica, and
 * workloads behind one NAT address are not each other's limit. Failing closed like the rest.
 */
export function identityBudget(counter: BudgetCounter, perMinute: number): IdentityBudget | undefined {
  if (perMinute <= 0) return undefined
  return {
    async spend(subject) {
      // A digest keeps the key short and free of whatever characters a subject may hold.
      const spent = await ask(() => counter.hit(`identity:${createHash('sha256').update(subject).digest('base64url')}`, MINUTE))
      if (spent.count <= perMinute) return
      const seconds = retryAfterOf(spent)
      throw new RateLimitedError(
        `${subject} asked for more than ${perMinute} tokens this minute (limits.tokenRequestsPerIdentityPerMinute): retry in ${seconds} s`,
        'identity_rate_limited',
        seconds,
      )
    },
  }
}

async function ask(count: () => Promise<BudgetCount>): Promise<BudgetCount> {
  try {
    return await count()
  } catch (error) {
    throw new ServiceUnavailableError('the rate limit store cannot be reached', 'rate_limit_unavailable', error)
  }
}

function retryAfterOf(spent: BudgetCount): number {
  return Math.max(1, Math.ceil(spent.resetMs / 1000))
}

function tooMany(reply: FastifyReply, spent: BudgetCount, what: string, reason: ErrorReason): RateLimitedError {
  const seconds = retryAfterOf(spent)
  reply.header('retry-after', String(seconds))
  return new RateLimitedError(`${what}: retry in ${seconds} s`, reason)
}
