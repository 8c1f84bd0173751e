import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { OverloadedError, ServiceUnavailableError, type ErrorReason } from '../errors.js'
import type { ProblemBody } from './error-bodies.js'
import { failureOf, oauthCodeOf, problemTitleOf, type Failure } from './error-mapping.js'
import { setOutcome } from './request-log.js'

/**
 * The one place errors become HTTP (the mapping itself is src/http/error-mapping.ts). The format is
 * the scope's: RFC 9457 problem JSON is the default for the whole app; the OAuth scope answers
 * RFC 6749 section 5.2 JSON instead, for its routes and for the paths under it that no route serves.
 * Only errors we raised on purpose, or Fastify's own 4xx, show their message; anything else is logged
 * and answered with a generic 500 that carries no detail.
 */
export function useProblemErrors(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => sendProblem(reply, request, observed(error, request, false)))
  app.setNotFoundHandler((request, reply) => sendProblem(reply, request, notFound(request)))
}

/** RFC 6749 error bodies for every route of `scope` (and its 404s): call it in the OAuth scope. */
export function useOAuthErrors(scope: FastifyInstance): void {
  scope.setErrorHandler((error, request, reply) => sendOAuthError(reply, observed(error, request, true)))
  scope.setNotFoundHandler((request, reply) => sendOAuthError(reply, notFound(request)))
}

/**
 * What the failure is, logged as it deserves: defects in full, outages as warnings, refusals on the
 * request's line. Refusals of a token (and failed admin authentications) are what an incident
 * responder and an alert look for: their line is a warning with structured fields, never the token.
 */
function observed(error: unknown, request: FastifyRequest, oauth: boolean): Failure {
  const failure = failureOf(error)
  request.failure = failure
  // Shed requests are counted and logged by the shedding itself (src/http/overload.ts), not one warning
  // each: under overload a line per refused request would add to the load.
  if (error instanceof OverloadedError) return failure
  if (error instanceof ServiceUnavailableError) {
    request.log.warn({ err: { message: error.message, cause: describeCause(error.cause) }, reason: error.reason }, 'failing closed')
  } else if (failure.status >= 500) {
    request.log.error({ err: error }, 'request failed')
  } else if (failure.refusal) {
    setOutcome(request, {
      msg: 'token request refused',
      level: 'warn',
      ...request.exchangeRecord?.who(),
      error: failure.refusal,
      reason: failure.reason,
      description: failure.message,
    })
  } else if (ADMIN_AUTH_REASONS.has(failure.reason)) {
    setOutcome(request, {
      msg: 'admin request refused',
      level: 'warn',
      // Introspection answers in OAuth's terms; the admin API has no OAuth error.
      ...(oauth ? { error: oauthCodeOf(failure) } : {}),
      reason: failure.reason,
      description: failure.message,
    })
  }
  return failure
}

/** Failed admin authentication (a missing, wrong or unentitled admin token), on the admin API and introspection. */
const ADMIN_AUTH_REASONS: ReadonlySet<ErrorReason> = new Set([
  'admin_token_missing',
  'admin_token_invalid',
  'oidc_token_invalid',
  'oidc_groups_unmapped',
  'role_missing',
])

function notFound(request: FastifyRequest): Failure {
  return { status: 404, reason: 'route_not_found', message: `no route for ${request.method} ${request.url.split('?')[0]}` }
}

function sendOAuthError(reply: FastifyReply, failure: Failure): FastifyReply {
  const error = oauthCodeOf(failure)
  if (failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(failure.retryAfterSeconds))
  if (failure.dpopNonce !== undefined) reply.header('dpop-nonce', failure.dpopNonce)
  // RFC 6750 section 3: a bearer challenge says what went wrong.
  if (failure.status === 401 || failure.status === 403) reply.header('www-authenticate', `Bearer error="${error}"`)
  return reply
    .code(failure.status)
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .type('application/json')
    .send({ error, error_description: failure.message, error_reason: failure.reason })
}

function sendProblem(reply: FastifyReply, request: FastifyRequest, failure: Failure): FastifyReply {
  if (failure.status === 401) reply.header('www-authenticate', 'Bearer realm="seed-sts-admin"')
  if (failure.retryAfterSeconds !== undefined) reply.header('retry-after', String(failure.retryAfterSeconds))
  // Typed as the API description documents it (error-bodies.ts): a member added here is documented there.
  const problem: ProblemBody = {
    type: 'about:blank',
    title: problemTitleOf(failure),
    status: failure.status,
    detail: failure.message,
    instance: request.url.split('?')[0],
    // An extension member (RFC 9457 section 3.2): the machine-readable reason, as in OAuth bodies.
    reason: failure.reason,
    ...(failure.errors ? { errors: failure.errors } : {}),
    ...(failure.violations ? { violations: failure.violations } : {}),
  }
  return reply.code(failure.status).type('application/problem+json').send(problem)
}

function describeCause(cause: unknown): string | undefined {
  if (cause instanceof Error) return cause.message
  // Errors and plain values carry something worth reading; any other object only says what it is.
  switch (typeof cause) {
    case 'undefined':
      return undefined
    case 'string':
      return cause
    case 'number':
    case 'boolean':
    case 'bigint':
      return String(cause)
    default:
      return Object.prototype.toString.call(cause)
  }
}
