import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import type { VerifiedToken } from '../verifier/claims.js'
import type { Verifier } from '../verifier/verifier.js'
import { credentialsOf } from '../verifier/presentation.js'
import {
  malformedRequestAnswer,
  missingTokenAnswer,
  refusalAnswer,
  type BearerAnswer,
  type ChallengeOptions,
  type RequestUrlOptions,
} from './bearer.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified access token of the request, set by the Seed STS plugin; null on routes it leaves open. */
    workload: VerifiedToken | null
  }
  interface FastifyContextConfig {
    /**
     * What the Seed STS plugin asks of this route's tokens: the scopes it needs, or `false` to leave
     * the route open (a health check).
     */
    sts?: { scopes?: readonly string[] } | false
  }
}

export interface AccessTokenPluginOptions extends ChallengeOptions, RequestUrlOptions {
  verifier: Verifier
}

/**
 * A Fastify plugin: every route of the scope it is registered in (and of the scopes inside it)
 * requires a valid Seed STS access token, with the scopes its `config.sts.scopes` names; the verified
 * token is `request.workload`. A DPoP-bound token needs `Authorization: DPoP` and a proof of the
 * request (RFC 9449; set `origin` behind a proxy). Refusals are RFC 6750 answers: 401 with `WWW-Authenticate: Bearer`
 * (with `error="invalid_token"` for a token that is refused), 403 `insufficient_scope` with the
 * scopes needed, 400 `invalid_request` for a malformed Authorization header, 503 when the verifier
 * cannot decide now. Fastify is not a dependency of this package: bring your own (v4 or v5).
 *
 * @example
 * import { accessTokenPlugin } from '@seed-sts/client/fastify'
 * await app.register(accessTokenPlugin, { verifier, realm: 'ledger-api' })
 * app.get('/entries', { config: { sts: { scopes: ['ledger:read'] } } }, async (request) => list(request.workload!.subject))
 * app.get('/healthz', { config: { sts: false } }, async () => 'ok')
 */
export const accessTokenPlugin: FastifyPluginAsync<AccessTokenPluginOptions> = async (app, options) => {
  if (typeof options?.verifier?.verify !== 'function')
    throw new TypeError('accessTokenPlugin: options.verifier is required (createVerifier)')
  const { verifier } = options
  // Registered again in an inner scope (another verifier for some routes), it keeps the decoration it inherits.
  if (!app.hasRequestDecorator('workload')) app.decorateRequest('workload', null)
  // onRequest: before the body is read, so no unauthenticated body is parsed.
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    // No route (a 404 is the not-found handler's to answer), or a route left open.
    if (request.routeOptions.url === undefined) return
    const route = request.routeOptions.config.sts
    if (route === false) return
    const credentials = credentialsOf(request.headers.authorization)
    if ('missing' in credentials) return send(reply, missingTokenAnswer(options))
    if ('malformed' in credentials) return send(reply, malformedRequestAnswer(credentials.malformed, options))
    try {
      const url = `${options.origin ?? `${request.protocol}://${hostOf(request)}`}${request.url}`
      request.workload = await verifier.verifyRequest(
        { method: request.method, url, headers: request.headers },
        { scopes: route?.scopes ?? [] },
      )
    } catch (error) {
      const answer = refusalAnswer(error, options, credentials.scheme)
      if (!answer) throw error
      return send(reply, answer)
    }
  })
}

// What fastify-plugin would set: the hook and the decoration apply to the scope that registers the
// plugin, not to a scope of its own.
Object.assign(accessTokenPlugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: '@seed-sts/client/fastify',
  [Symbol.for('plugin-meta')]: { name: '@seed-sts/client/fastify' },
})

function send(reply: FastifyReply, answer: BearerAnswer): FastifyReply {
  return reply.code(answer.status).headers(answer.headers).send(answer.body)
}

/** Fastify 5's `host` (with the port); Fastify 4 has only `hostname`, which then includes it. */
function hostOf(request: FastifyRequest): string {
  return (request as FastifyRequest & { host?: string }).host ?? request.hostname
}
