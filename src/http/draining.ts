import type { FastifyInstance } from 'fastify'
import { ServiceUnavailableError } from '../errors.js'
import type { Drain } from '../lib/drain.js'

/**
 * While the process drains, every new request (on a kept-alive connection, or a new one before the
 * listener closes) is answered rather than reset: 503 in the endpoint's own error format (OAuth JSON on
 * /oauth2/*, problem JSON elsewhere) with `Connection: close`, so the client goes to another instance.
 * Requests that came before the drain are counted until their response is done, so the drain can wait
 * for them, and their responses close their connections too.
 */
export function registerDraining(app: FastifyInstance, drain: Drain): void {
  app.addHook('onRequest', async (_request, reply) => {
    if (drain.draining) {
      reply.header('connection', 'close')
      throw new ServiceUnavailableError('the service is shutting down; retry on another instance')
    }
    const done = drain.track()
    // 'finish' when the response is sent; 'close' when the connection went first (or was closed at the deadline).
    reply.raw.once('finish', done)
    reply.raw.once('close', done)
  })
  // A request that was in flight when the drain began is answered as usual, and told not to come back on this connection.
  app.addHook('onSend', (_request, reply, payload, next) => {
    if (drain.draining) reply.header('connection', 'close')
    next(null, payload)
  })
}
