import { TokenRefusedError, VerifierUnavailableError } from '../verifier/errors.js'

/**
 * RFC 6750 for the framework adapters: reading the bearer token of a request, and the answer to
 * give when there is none or it is refused (status, `WWW-Authenticate` challenge, JSON body).
 */

/** What the request carries: a token, nothing usable (answer 401 with a bare challenge), or a malformed header (400). */
export type BearerCredentials = { token: string } | { missing: true } | { malformed: string }

/** RFC 6750 section 2.1: `Bearer` and a b64token, the scheme compared without case. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i

export function bearerCredentialsOf(authorization: string | string[] | undefined): BearerCredentials {
  if (authorization === undefined || authorization === '') return { missing: true }
  if (Array.isArray(authorization)) return { malformed: 'the request has more than one Authorization header' }
  // Another scheme (Basic...) is no bearer token: answered as if none were sent.
  if (!/^bearer(\s|$)/i.test(authorization)) return { missing: true }
  const match = BEARER.exec(authorization)
  return match?.[1] !== undefined ? { token: match[1] } : { malformed: 'the Authorization header is not Bearer <token>' }
}

export interface BearerAnswer {
  status: 400 | 401 | 403 | 503
  headers: Record<string, string>
  body: { error?: string; error_description: string }
}

export interface ChallengeOptions {
  /** The `realm` of the challenge; left out when not given. */
  realm?: string
}

/** The answer for a request without a bearer token: 401 and a challenge without an error code (RFC 6750 section 3.1). */
export function missingTokenAnswer(options: ChallengeOptions): BearerAnswer {
  return {
    status: 401,
    headers: { 'www-authenticate': challenge(options, {}), 'cache-control': 'no-store' },
    body: { error_description: 'a bearer token is required (Authorization: Bearer <token>)' },
  }
}

/** The answer for a malformed Authorization header: 400 `invalid_request`. */
export function malformedRequestAnswer(description: string, options: ChallengeOptions): BearerAnswer {
  return answer(400, 'invalid_request', description, options)
}

/**
 * The answer for an error of `verify`: 401 `invalid_token`, 403 `insufficient_scope` (with the scopes
 * needed), or 503 when the verifier cannot decide now. Undefined for any other error: a bug, for the
 * framework's error handling.
 */
export function refusalAnswer(error: unknown, options: ChallengeOptions): BearerAnswer | undefined {
  if (error instanceof TokenRefusedError) {
    return answer(error.status, error.error, error.message, options, error.details.requiredScopes)
  }
  if (error instanceof VerifierUnavailableError) {
    return {
      status: 503,
      headers: { 'retry-after': '5', 'cache-control': 'no-store' },
      body: { error: 'temporarily_unavailable', error_description: error.message },
    }
  }
  return undefined
}

function answer(
  status: 400 | 401 | 403,
  error: string,
  description: string,
  options: ChallengeOptions,
  scopes?: readonly string[],
): BearerAnswer {
  const parameters = { error, error_description: description, ...(scopes && scopes.length > 0 ? { scope: scopes.join(' ') } : {}) }
  return {
    status,
    headers: { 'www-authenticate': challenge(options, parameters), 'cache-control': 'no-store' },
    body: { error, error_description: description },
  }
}

/** `Bearer realm="...", error="...", ...`; each value reduced to the characters RFC 6750 allows in it. */
function challenge(options: ChallengeOptions, parameters: Record<string, string>): string {
  const all = { ...(options.realm === undefined ? {} : { realm: options.realm }), ...parameters }
  const list = Object.entries(all).map(([name, value]) => `${name}="${quotable(value)}"`)
  return list.length === 0 ? 'Bearer' : `Bearer ${list.join(', ')}`
}

/** RFC 6750 section 3: %x20-21 / %x23-5B / %x5D-7E, no quote and no backslash. */
function quotable(value: string): string {
  return value.replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, "'")
}
