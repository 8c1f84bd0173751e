import type { ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { ServiceUnavailableError } from '../errors.js'
import type { Drain } from '../lib/drain.js'

/**
 * While the process drains, every new request (on a kept-alive connection, or a new one before the
 * listener closes) is answered rather than reset: 503 in the route's own error format (OAuth JSON in
 * the OAuth scope, problem JSON elsewhere) with `Connection: close`, so the client goes to another instance.
 * Requests that came before the drain are counted until their response is done, so the drain can wait
 * for them, and their responses close their connections too.
 */
export function registerDraining(app: FastifyInstance, drain: Drain): void {
  const inFlight = new Set<ServerResponse>()
  // Callback style, not async: this runs on every request, the token endpoint's included.
  app.addHook('onRequest', (_request, reply, next) => {
    if (drain.draining) {
      reply.header('connection', 'close')
      next(new ServiceUnavailableError('the service is shutting down; retry on another instance', 'shutting_down'))
      return
    }
    const response = reply.raw
    const done = drain.track()
    inFlight.add(response)
    // A response emits 'close' once it has been sent, or when its connection went first (or was closed
    // at the deadline): either way the request no longer holds the drain.
    response.once('close', () => {
      inFlight.delete(response)
      done()
    })
    next()
  })
  // A request that was in flight when the drain began is answered as usual, and told not to come back
  // on this connection (set here once, rather than checked by a hook on every response).
  drain.onBegin(() => {
    for (const response of inFlight) if (!response.headersSent) response.setHeader('connection', 'close')
  })
}
