import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { IntrospectionTracer, RequestTrace } from '../observability/observers.js'
import { InvalidRequestError, UnsupportedMediaTypeError } from '../errors.js'
import type { TokenIntrospection } from '../tokens/introspection.js'
import { introspectOperation, type IntrospectionResponse } from './introspect-operation.js'
import { setOutcome } from './request-log.js'

export interface IntrospectRouteOptions {
  introspection: TokenIntrospection
  /** With tracing on: a span per introspection, the caller's traceparent its parent. */
  tracer?: IntrospectionTracer
}

/**
 * POST /oauth2/introspect: OAuth 2.0 Token Introspection (RFC 7662). Registered in an admin scope
 * (src/http/admin/admin-scope.ts): resource servers call it with an admin token that has the
 * `introspect` role.
 */
export async function introspectRoute(app: FastifyInstance, options: IntrospectRouteOptions): Promise<void> {
  const traces = new WeakMap<FastifyRequest, RequestTrace>()
  const answers = new WeakMap<FastifyRequest, boolean>()
  const { tracer } = options
  if (tracer) {
    app.addHook('onRequest', (request, _reply, done) => {
      traces.set(request, tracer.begin(request.headers))
      done()
    })
    app.addHook('onResponse', (request, reply, done) => {
      traces.get(request)?.finished(reply.statusCode, answers.get(request))
      done()
    })
  }
  app.post('/introspect', { config: { role: 'introspect' }, schema: introspectOperation }, async (request, reply) => {
    if (!(request.body instanceof Map)) throw new UnsupportedMediaTypeError('the body must be application/x-www-form-urlencoded')
    const params = request.body as Map<string, string[]>
    const token = params.get('token')
    if (!token || token[0] === '') throw new InvalidRequestError('token is required, once', 'parameter_missing')
    if (token.length !== 1) throw new InvalidRequestError('token is required, once', 'parameter_repeated')
    traces.get(request)?.entered()
    const result: IntrospectionResponse = await options.introspection.introspect(token[0])
    if (tracer) answers.set(request, result.active)
    setOutcome(request, {
      msg: 'token introspected',
      active: result.active,
      ...(result.active ? { jti: result.jti } : {}),
      by: request.admin?.name,
    })
    return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(result)
  })
}
