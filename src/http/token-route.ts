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
  maxAttestationBytes: number
  requestsPerMinute: number
  /** Told of every token request, refused or not: the metrics (and later traces). */
  observer: ExchangeObserver
}

/** POST /oauth2/token: OAuth 2.0 Token Exchange (RFC 8693). Registered in the OAuth scope, under /oauth2. */
export async function tokenRoute(app: FastifyInstance, options: TokenRouteOptions): Promise<void> {
  observeExchanges(app, options.observer)
  app.post('/token', { config: rateLimit(options.requestsPerMinute), schema: tokenOperation }, async (request, reply) => {
    if (!(request.body instanceof Map)) throw new UnsupportedMediaTypeError('the body must be application/x-www-form-urlencoded')
    const tokenRequest = parseTokenRequest(request.body as Map<string, string[]>, options.maxAttestationBytes)
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

export function rateLimit(perMinute: number): { rateLimit: false | { max: number; timeWindow: number } } {
  return { rateLimit: perMinute > 0 ? { max: perMinute, timeWindow: 60_000 } : false }
}
