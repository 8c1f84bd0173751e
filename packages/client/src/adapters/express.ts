import type { IncomingMessage, ServerResponse } from 'node:http'
import type { VerifiedToken } from '../verifier/claims.js'
import type { Verifier } from '../verifier/verifier.js'
import type { TLSSocket } from 'node:tls'
import { credentialsOf } from '../verifier/presentation.js'
import {
  malformedRequestAnswer,
  missingTokenAnswer,
  refusalAnswer,
  type BearerAnswer,
  type ChallengeOptions,
  type RequestUrlOptions,
} from './bearer.js'

/** A request once the middleware has verified its token. Express's request is an IncomingMessage. */
export type RequestWithWorkload = IncomingMessage & { workload?: VerifiedToken }

export interface AccessTokenMiddlewareOptions extends ChallengeOptions, RequestUrlOptions {
  /** The scopes every request through this middleware needs. */
  scopes?: readonly string[]
}

/**
 * Express (or Connect, or node:http) middleware: the request needs a valid Seed STS access token with
 * `options.scopes`; the verified token is `req.workload`. A DPoP-bound token needs `Authorization: DPoP`
 * and a proof of the request (RFC 9449; set `origin` behind a proxy). Refusals are RFC 6750 answers: 401 with
 * `WWW-Authenticate: Bearer` (with `error="invalid_token"` for a token that is refused), 403
 * `insufficient_scope` with the scopes needed, 400 `invalid_request` for a malformed Authorization
 * header, 503 when the verifier cannot decide now. Any other error goes to `next(error)`. Express is
 * not a dependency of this package: it is typed on Node's own request and response.
 *
 * @example
 * import { accessTokenMiddleware } from '@seed-sts/client/express'
 * app.get('/entries', accessTokenMiddleware(verifier, { scopes: ['ledger:read'] }), (req, res) => {
 *   res.json(list(req.workload.subject))
 * })
 */
export function accessTokenMiddleware(
  verifier: Verifier,
  options: AccessTokenMiddlewareOptions = {},
): (req: RequestWithWorkload, res: ServerResponse, next: (error?: unknown) => void) => void {
  if (typeof verifier?.verify !== 'function') throw new TypeError('accessTokenMiddleware: a verifier is required (createVerifier)')
  const scopes = options.scopes ?? []
  return (req, res, next) => {
    const credentials = credentialsOf(req.headers.authorization)
    if ('missing' in credentials) return send(res, missingTokenAnswer(options))
    if ('malformed' in credentials) return send(res, malformedRequestAnswer(credentials.malformed, options))
    // Express's `originalUrl` is the path the client called, before a router stripped its mount point.
    const path = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '/'
    const origin = options.origin ?? `${(req.socket as TLSSocket).encrypted ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`
    verifier.verifyRequest({ method: req.method ?? 'GET', url: `${origin}${path}`, headers: req.headers }, { scopes }).then(
      (verified) => {
        req.workload = verified
        next()
      },
      (error: unknown) => {
        const answer = refusalAnswer(error, options, credentials.scheme)
        if (answer) send(res, answer)
        else next(error)
      },
    )
  }
}

function send(res: ServerResponse, answer: BearerAnswer): void {
  const body = JSON.stringify(answer.body)
  res.writeHead(answer.status, {
    ...answer.headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  })
  res.end(body)
}
