import underPressure from '@fastify/under-pressure'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { OverloadedError } from '../errors.js'
import { setOutcome } from './request-log.js'

/** config.overload: the bounds past which requests are shed. Each is off at 0. */
export interface OverloadBounds {
  maxEventLoopDelayMs: number
  maxEventLoopUtilization: number
  maxRequestsInFlight: number
  sampleIntervalMs: number
  retryAfterSeconds: number
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * How a route stands under overload. `never-shed`: answered whatever the load (health checks, and
     * discovery and the JWKS, which verifiers of tokens already issued need). `long-lived`: shed when
     * it opens, but not counted in flight while it stays open (a revocation stream). Unset: shed.
     */
    overload?: 'never-shed' | 'long-lived'
  }
}

type Bound = 'eventLoopDelay' | 'eventLoopUtilization' | 'requestsInFlight'

/** What a shed request is told: fixed per bound (the measured value goes to the log), so clients and tests can rely on it. */
const WHY: Record<Bound, string> = {
  eventLoopDelay: 'its event loop lags more than overload.maxEventLoopDelayMs',
  eventLoopUtilization: 'its event loop is busier than overload.maxEventLoopUtilization',
  requestsInFlight: 'it is answering overload.maxRequestsInFlight requests already',
}

/**
 * Load shedding: past a bound, a request is answered 503 with `Retry-After` before anything is done
 * for it, in its endpoint's own error format (the error handler's: `temporarily_unavailable` on
 * /oauth2, a problem elsewhere), rather than queue behind the others until every answer comes too
 * late. Event-loop lag and utilization are measured by @fastify/under-pressure once a sample
 * interval; requests in flight are counted here, per process. Register after the drain (a draining
 * instance says so instead) and before the routes.
 */
export async function registerOverloadShedding(app: FastifyInstance, bounds: OverloadBounds): Promise<void> {
  const log = shedLog(app, bounds.sampleIntervalMs)
  const shed = (request: FastifyRequest, bound: Bound, value: number | undefined): OverloadedError => {
    log(bound, value)
    setOutcome(request, { msg: 'request shed: overloaded', reason: 'overloaded', overload: bound })
    return new OverloadedError(
      `this instance is overloaded (${WHY[bound]}): retry in ${bounds.retryAfterSeconds} s`,
      bounds.retryAfterSeconds,
    )
  }

  if (bounds.maxEventLoopDelayMs > 0 || bounds.maxEventLoopUtilization > 0) {
    await app.register(underPressure, {
      maxEventLoopDelay: bounds.maxEventLoopDelayMs,
      maxEventLoopUtilization: bounds.maxEventLoopUtilization,
      // Over the last sample, not since the process started (the plugin's default).
      eventLoopUtilizationMode: 'interval',
      sampleInterval: bounds.sampleIntervalMs,
      retryAfter: bounds.retryAfterSeconds,
      // Returning nothing lets the request through; a rejection is the 503, rendered by our error handler.
      pressureHandler: (request, _reply, type, value) => {
        if (request.routeOptions.config.overload === 'never-shed') return
        const bound: Bound = type === 'eventLoopUtilization' ? 'eventLoopUtilization' : 'eventLoopDelay'
        return Promise.reject(shed(request, bound, value))
      },
    })
  }

  if (bounds.maxRequestsInFlight > 0) {
    let inFlight = 0
    // Callback style, not async: this runs on every request, the token endpoint's included.
    app.addHook('onRequest', (request, reply, next) => {
      const stance = request.routeOptions.config.overload
      if (stance === 'never-shed') {
        next()
        return
      }
      if (inFlight >= bounds.maxRequestsInFlight) {
        next(shed(request, 'requestsInFlight', inFlight))
        return
      }
      // A stream is refused when it would open past the bound, but once open it holds no place: it
      // waits, it does not work, and counting it would let a few followers shed every token request.
      if (stance === 'long-lived') {
        next()
        return
      }
      inFlight++
      // Sent, or its connection gone first: either way it no longer holds a place.
      reply.raw.once('close', () => inFlight--)
      next()
    })
  }
}

/**
 * One warning per sample interval at most, with how many were shed since the last: under overload a
 * line per refused request would only add to the load.
 */
function shedLog(app: FastifyInstance, intervalMs: number): (bound: Bound, value: number | undefined) => void {
  let shedSince = 0
  let loggedAt = -Infinity
  return (bound, value) => {
    shedSince++
    const now = performance.now()
    if (now - loggedAt < Math.max(intervalMs, 1000)) return
    app.log.warn({ overload: bound, value, shed: shedSince }, `shedding load: ${WHY[bound]}`)
    loggedAt = now
    shedSince = 0
  }
}
