import { TokenRefusedError, VerifierUnavailableError } from '../verifier/errors.js'
import type { AccessTokenScheme } from '../verifier/presentation.js'

/**
 * RFC 6750 and RFC 9449 section 7.1 for the framework adapters: the answer to give when a request has
 * no token or it is refused (status, `WWW-Authenticate` challenge, JSON body). The challenge's scheme
 * is DPoP for what concerns a DPoP binding or a request that used DPoP, Bearer otherwise.
 */

export interface BearerAnswer {
  status: 400 | 401 | 403 | 503
  headers: Record<string, string>
  body: { error?: string; error_description: string }
}

export interface ChallengeOptions {
  /** The `realm` of the challenge; left out when not given. */
  realm?: string
}

export interface RequestUrlOptions {
  /**
   * The origin clients call this server at, e.g. `https://ledger.example.org`: a DPoP proof's `htu`
   * must name it. By default it is read from the request (its Host header, and TLS or not), which is
   * wrong behind a proxy that changes them: say it here then.
   */
  origin?: string
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
export function refusalAnswer(error: unknown, options: ChallengeOptions, used: AccessTokenScheme = 'Bearer'): BearerAnswer | undefined {
  if (error instanceof TokenRefusedError) {
    const dpop = used === 'DPoP' || error.error === 'invalid_dpop_proof' || error.code === 'token_bound' || error.code === 'token_not_bound'
    return answer(error.status, error.error, error.message, options, error.details.requiredScopes, dpop ? 'DPoP' : 'Bearer')
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
  scheme: AccessTokenScheme = 'Bearer',
): BearerAnswer {
  const parameters = { error, error_description: description, ...(scopes && scopes.length > 0 ? { scope: scopes.join(' ') } : {}) }
  return {
    status,
    headers: { 'www-authenticate': challenge(options, parameters, scheme), 'cache-control': 'no-store' },
    body: { error, error_description: description },
  }
}

/** `Bearer realm="...", error="...", ...` (or `DPoP ...`); each value reduced to the characters RFC 6750 allows in it. */
function challenge(options: ChallengeOptions, parameters: Record<string, string>, scheme: AccessTokenScheme = 'Bearer'): string {
  const all = { ...(options.realm === undefined ? {} : { realm: options.realm }), ...parameters }
  const list = Object.entries(all).map(([name, value]) => `${name}="${quotable(value)}"`)
  return list.length === 0 ? scheme : `${scheme} ${list.join(', ')}`
}

/** RFC 6750 section 3: %x20-21 / %x23-5B / %x5D-7E, no quote and no backslash. */
function quotable(value: string): string {
  return value.replace(/[^\x20-\x21\x23-\x5B\x5D-\x7E]/g, "'")
}
