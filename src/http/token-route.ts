import type { FastifyInstance } from 'fastify'
import { UnsupportedMediaTypeError } from '../errors.js'
import type { TokenExchange } from '../exchange/token-exchange.js'
import { parseTokenRequest } from '../exchange/token-request.js'
import type { ExchangeObserver } from '../observability/exchange-observer.js'
import { observeExchanges } from './exchange-record.js'
import { setOutcome } from './request-log.js'
import { tokenOperation } from './token-operation.js'
import { headerValues } from './header-values.js'
import type { DpopNonces } from '../dpop/dpop-nonces.js'
import type { DpopProofVerifier } from '../dpop/dpop-proof.js'

export interface TokenRouteOptions {
  exchange: TokenExchange
  /** Asked per request: a reload may change them. */
  limits: () => { maxAttestationBytes: number; tokenRequestsPerMinute: number }
  /** Told of every token request, refused or not: the metrics, and the traces when they are on. */
  observer: ExchangeObserver
  /** Checks the request's DPoP proof, if it has one. */
  dpop: DpopProofVerifier
  /** With `dpop.nonce: required`: every answer carries a fresh nonce for the client's next proof. */
  dpopNonces?: DpopNonces
}

/** POST /oauth2/token: OAuth 2.0 Token Exchange (RFC 8693). Registered in the OAuth scope, under /oauth2. */
export async function tokenRoute(app: FastifyInstance, options: TokenRouteOptions): Promise<void> {
  const perMinute = () => options.limits().tokenRequestsPerMinute
  observeExchanges(app, options.observer)
  app.post('/token', { config: rateLimit(perMinute), schema: tokenOperation }, async (request, reply) => {
    if (!(request.body instanceof Map)) throw new UnsupportedMediaTypeError('the body must be application/x-www-form-urlencoded')
    // On refusals too (the error handler keeps it): RFC 9449 section 8.2 lets any answer carry the next nonce.
    if (options.dpopNonces) reply.header('dpop-nonce', options.dpopNonces.current())
    const tokenRequest = parseTokenRequest(request.body as Map<string, string[]>, options.limits().maxAttestationBytes)
    // Before the exchange, so a bad proof never spends a single-use attestation.
    const dpop = await options.dpop.verify(headerValues(request.raw.rawHeaders, 'dpop'), request.method)
    const issued = await options.exchange.exchange(tokenRequest, {
      clientAddress: request.ip,
      requestId: String(request.id),
      ...(request.exchangeRecord ? { observation: request.exchangeRecord } : {}),
      ...(dpop ? { dpop } : {}),
    })
    setOutcome(request, { msg: 'token issued', jti: issued.jti, sub: issued.subject, aud: issued.audience, scope: issued.scope })
    return reply
      .header('cache-control', 'no-store')
      .header('pragma', 'no-cache')
      .send({
        access_token: issued.accessToken,
        issued_token_type: issued.issuedTokenType,
        token_type: issued.tokenType,
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
