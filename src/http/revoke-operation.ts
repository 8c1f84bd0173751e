import { z } from 'zod'
import { prose } from '../lib/prose.js'
import { InvalidRequestBody, oauthErrorOf, oauthErrorResponse, UnavailableBody, type OAuthErrorBody } from './error-bodies.js'
import { operation, type Response } from './openapi/operation.js'
import { CacheControlNoStore, PragmaNoCache, RetryAfter, RetryAfterWhenShed } from './response-headers.js'

/** The form POST /oauth2/revoke reads (the route reads it itself: one parameter, once). */
export const RevocationForm = z.object({
  token: z.string().min(1).describe('The access token to revoke, once (missing, empty or repeated is `invalid_request`).'),
  token_type_hint: z
    .string()
    .optional()
    .describe('Ignored (RFC 7009 section 2.1): this service issues access tokens only, and looks at the token itself.'),
})

const NOT_CACHED = { 'Cache-Control': CacheControlNoStore, Pragma: PragmaNoCache }

function oauthError(description: string, schema: z.ZodType, example: OAuthErrorBody, headers: Response['headers'] = NOT_CACHED): Response {
  return oauthErrorResponse(description, schema, example, headers)
}

export const revokeOperation = operation({
  tags: ['token'],
  operationId: 'revokeToken',
  summary: 'Revoke an access token you hold (RFC 7009)',
  description: prose`
    OAuth 2.0 Token Revocation (RFC 7009), for the workload holding a token: a workload shutting down
    retires the tokens it has. There is no client authentication (workloads are public clients):
    possession of the token is the proof. Responders revoke anything else with the admin API
    (\`POST /v1/revocations\`).

    The token is checked exactly as introspection checks it: one of this service's access tokens,
    signed by a key of the JWKS, with \`typ: at+jwt\` and this issuer, unexpired, and on the ledger
    as issued. Such a token becomes a \`token\` revocation of its \`jti\`, as if made through the
    admin API: on record, in the audit log under the actor \`holder:<sub>\` (the token's own
    subject), and in force on every instance before the answer; it expires with the token.
    Revoking a token already revoked changes nothing. Anything else (not ours, malformed, forged,
    expired) is answered with the same empty 200 and revokes nothing (RFC 7009 section 2.2): the
    answer says nothing about the token.

    A token bound to a key (\`cnf.jkt\`, DPoP) is revoked only with a \`DPoP\` header: a proof
    made with that key for this endpoint (\`htm\` POST, \`htu\` \`<issuer>/oauth2/revoke\`), with
    \`ath\` the token's SHA-256, single-use. Without one the request is refused with
    \`invalid_request\` (\`holder_key_proof_required\`); with one that does not hold, with
    \`invalid_dpop_proof\` (or \`use_dpop_nonce\` when nonces are required).

    Requests are rate-limited per client address like token requests, with a budget of their own of
    the same size (\`limits.tokenRequestsPerMinute\`, counted per instance).
  `,
  requestBody: {
    mediaType: 'application/x-www-form-urlencoded',
    schema: RevocationForm,
    example: {
      token: 'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJpc3MiOiIuLi4ifQ.c2lnbmF0dXJl',
      token_type_hint: 'access_token',
    },
  },
  responses: {
    200: {
      description: 'Revoked, or not a token this service would revoke: the two are not told apart. The body is empty.',
      headers: NOT_CACHED,
    },
    400: oauthError(
      '`token` is missing, empty or repeated, or the token is bound to a key and the request does not prove it.',
      InvalidRequestBody,
      { error: 'invalid_request', error_description: 'token is required, once', error_reason: 'parameter_missing' },
    ),
    413: oauthError('The body is larger than `limits.maxBodyBytes` (65536 by default).', InvalidRequestBody, {
      error: 'invalid_request',
      error_description: 'Request body is too large',
      error_reason: 'body_too_large',
    }),
    415: oauthError('The body is missing or not `application/x-www-form-urlencoded`.', InvalidRequestBody, {
      error: 'invalid_request',
      error_description: 'the body must be application/x-www-form-urlencoded',
      error_reason: 'media_type_unsupported',
    }),
    429: oauthError(
      'This client address sent more than `limits.tokenRequestsPerMinute` revocation requests this minute. Wait `Retry-After` seconds.',
      UnavailableBody,
      { error: 'temporarily_unavailable', error_description: 'rate limit exceeded: retry in 60 s', error_reason: 'rate_limited' },
      { ...NOT_CACHED, 'Retry-After': RetryAfter },
    ),
    500: oauthError(
      'An unexpected fault. Nothing about it is shown; the server logs it with the request id.',
      oauthErrorOf('server_error'),
      { error: 'server_error', error_description: 'internal server error', error_reason: 'internal_error' },
    ),
    503: oauthError(
      prose`
        The token could not be checked (the ledger, this instance's keys) or its revocation could not
        be made (the revocation store): nothing is claimed revoked. Retry with backoff. Or this
        instance is overloaded and shed the request: retry after \`Retry-After\` seconds.
      `,
      UnavailableBody,
      {
        error: 'temporarily_unavailable',
        error_description: 'the revocation store (Redis) cannot be written',
        error_reason: 'revocations_unavailable',
      },
      { ...NOT_CACHED, 'Retry-After': RetryAfterWhenShed },
    ),
  },
})
