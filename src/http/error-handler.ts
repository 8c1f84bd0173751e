import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { setOutcome } from './request-log.js'
import { OAuthError, ProblemError, StsError, ServiceUnavailableError, type OAuthErrorCode } from '../errors.js'

/**
 * The one place errors become HTTP. OAuth endpoints answer RFC 6749 section 5.2 JSON, everything
 * else RFC 9457 problem JSON. Only errors we raised on purpose, or Fastify's own 4xx, show their
 * message; anything else is logged and answered with a generic 500 that carries no detail.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | StsError, request, reply) => {
    const status = statusOf(error)
    if (status >= 500 && !(error instanceof ServiceUnavailableError)) {
      request.log.error({ err: error }, 'request failed')
    } else if (error instanceof ServiceUnavailableError) {
      request.log.warn({ err: { message: error.message, cause: describeCause(error.cause) } }, 'failing closed')
    } else if (error instanceof OAuthError) {
      // Refusals are what an incident responder looks for: always on record, never with the token.
      setOutcome(request, { msg: 'token request refused', error: error.error, description: error.message })
    }
    const exposed = error instanceof StsError ? error.expose : status < 500
    const message = exposed ? error.message : 'internal server error'
    if (isOAuthRequest(request)) {
      const code = oauthCodeOf(error, status)
      // RFC 6750 section 3: a bearer challenge says what went wrong.
      if (status === 401 || status === 403) reply.header('www-authenticate', `Bearer error="${code}"`)
      sendOAuthError(reply, status, code, message)
    }
    else sendProblem(reply, request, status, error instanceof ProblemError ? error : undefined, message)
  })

  app.setNotFoundHandler((request, reply) => {
    const message = `no route for ${request.method} ${request.url.split('?')[0]}`
    if (isOAuthRequest(request)) sendOAuthError(reply, 404, 'invalid_request', message)
    else sendProblem(reply, request, 404, undefined, message)
  })
}

function statusOf(error: FastifyError | StsError): number {
  const status = error.statusCode
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500
}

function oauthCodeOf(error: FastifyError | StsError, status: number): OAuthErrorCode {
  if (error instanceof OAuthError) return error.error
  // Bearer authentication of a resource server (introspection), RFC 6750 section 3.1.
  if (status === 401) return 'invalid_token'
  if (status === 403) return 'insufficient_scope'
  if (status === 503 || status === 429) return 'temporarily_unavailable'
  return status >= 500 ? 'server_error' : 'invalid_request'
}

function isOAuthRequest(request: FastifyRequest): boolean {
  return request.url.startsWith('/oauth2/')
}

export function sendOAuthError(reply: FastifyReply, status: number, error: OAuthErrorCode, description: string): FastifyReply {
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .type('application/json')
    .send({ error, error_description: description })
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  406: 'Not acceptable',
  412: 'Precondition failed',
  413: 'Payload too large',
  415: 'Unsupported media type',
  428: 'Precondition required',
  429: 'Too many requests',
  500: 'Internal server error',
  503: 'Service unavailable',
}

function sendProblem(reply: FastifyReply, request: FastifyRequest, status: number, problem: ProblemError | undefined, detail: string): FastifyReply {
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="seed-sts-admin"')
  return reply
    .code(status)
    .type('application/problem+json')
    .send({
      type: 'about:blank',
      title: problem?.title ?? TITLES[status] ?? 'Error',
      status,
      detail,
      instance: request.url.split('?')[0],
      ...(problem?.errors ? { errors: problem.errors } : {}),
    })
}

function describeCause(cause: unknown): string | undefined {
  return cause instanceof Error ? cause.message : cause === undefined ? undefined : String(cause)
}
