import type { FastifyInstance } from 'fastify'
import { UnsupportedMediaTypeError } from '../errors.js'
import type { TokenExchange } from '../exchange/token-exchange.js'
import { parseTokenRequest } from '../exchange/token-request.js'
import type { ExchangeObserver } from '../observability/exchange-observer.js'
import { observeExchanges } from './exchange-record.js'
import { setOutcome } from './request-log.js'
import { tokenOperation } from './token-operation.js'

export interface TokenRouteOptions {
  exchange: TokenExchange
  /** Asked per request: a reload may change them. */
  limits: () => { maxAttestationBytes: number; tokenRequestsPerMinute: number }
  /** Told of every token request, refused or not: the metrics, and the traces when they are on. */
  observer: ExchangeObserver
}

/** POST /oauth2/token: OAuth 2.0 Token Exchange (RFC 8693). Registered in the OAuth scope, under /oauth2. */
export async function tokenRoute(app: FastifyInstance, options: TokenRouteOptions): Promise<void> {
  const perMinute = () => options.limits().tokenRequestsPerMinute
  observeExchanges(app, options.observer)
  app.post('/token', { config: rateLimit(perMinute), schema: tokenOperation }, async (request, reply) => {
    if (!(request.body instanceof Map)) throw new UnsupportedMediaTypeError('the body must be application/x-www-form-urlencoded')
    const tokenRequest = parseTokenRequest(request.body as Map<string, string[]>, options.limits().maxAttestationBytes)
    const issued = await options.exchange.exchange(tokenRequest, {
      clientAddress: request.ip,
      requestId: String(request.id),
      ...(request.exchangeRecord ? { observation: request.exchangeRecord } : {}),
    })
    setOutcome(request, { msg: 'token issued', jti: issued.jti, sub: issued.subject, aud: issued.audience, scope: issued.scope })
    return reply
      .header('cache-control', 'no-store')
      .header('pragma', 'no-cache')
      .send({
        access_token: issued.accessToken,
        issued_token_type: issued.issuedTokenType,
        token_type: 'Bearer',
        expires_in: issued.expiresIn,
        // RFC 6749 scope is one or more scope tokens: with none granted, it is left out.
        ...(issued.scope ? { scope: issued.scope } : {}),
      })
  })
}

/**
 * @fastify/rate-limit's per-route limit, its `max` asked per request so a reload can change it; 0
 * turns it off (the request is let through uncounted).
 */
export function rateLimit(perMinute: () => number): {
  rateLimit: { max: () => number; allowList: () => boolean; timeWindow: number }
} {
  return { rateLimit: { max: () => Math.max(1, perMinute()), allowList: () => perMinute() <= 0, timeWindow: 60_000 } }
}
