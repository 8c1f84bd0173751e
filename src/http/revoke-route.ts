import type { FastifyInstance } from 'fastify'
import { InvalidRequestError, UnsupportedMediaTypeError } from '../errors.js'
import type { HolderRevocation } from '../revocation/holder-revocation.js'
import { headerValues } from './header-values.js'
import { setOutcome } from './request-log.js'
import { revokeOperation } from './revoke-operation.js'
import { rateLimit } from './token-route.js'

export interface RevokeRouteOptions {
  holderRevocation: HolderRevocation
  /** The endpoint's URL as discovery publishes it (`revocation_endpoint`): what a key proof is made for, whatever proxies did to Host. */
  endpoint: string
  /** Asked per request: a reload may change it. */
  limits: () => { tokenRequestsPerMinute: number }
}

/**
 * POST /oauth2/revoke: OAuth 2.0 Token Revocation (RFC 7009) for the holder of a token. Registered in
 * the OAuth scope, under /oauth2, with no authentication: the token is its own proof.
 */
export async function revokeRoute(app: FastifyInstance, options: RevokeRouteOptions): Promise<void> {
  const perMinute = () => options.limits().tokenRequestsPerMinute
  app.post('/revoke', { config: rateLimit(perMinute), schema: revokeOperation }, async (request, reply) => {
    if (!(request.body instanceof Map)) throw new UnsupportedMediaTypeError('the body must be application/x-www-form-urlencoded')
    const params = request.body as Map<string, string[]>
    const token = params.get('token')
    if (!token || token[0] === '') throw new InvalidRequestError('token is required, once', 'parameter_missing')
    if (token.length !== 1) throw new InvalidRequestError('token is required, once', 'parameter_repeated')
    // token_type_hint is ignored, whatever it says (RFC 7009 section 2.1): the token itself says what it is.
    const outcome = await options.holderRevocation.revoke({
      method: request.method,
      url: options.endpoint,
      headers: request.headers,
      dpopProofs: headerValues(request.raw.rawHeaders, 'dpop'),
      token: token[0],
      requestId: String(request.id),
    })
    // The token is never logged: only what it was found to be.
    setOutcome(
      request,
      outcome.revoked
        ? {
            msg: outcome.alreadyRevoked ? 'token revoked by its holder already' : 'token revoked by its holder',
            jti: outcome.jti,
            sub: outcome.subject,
            revocationId: outcome.revocationId,
          }
        : { msg: 'revocation request for no token of ours: nothing revoked' },
    )
    // RFC 7009 section 2.2: 200 whether or not anything was revoked, and the body is not for the client.
    return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send()
  })
}
