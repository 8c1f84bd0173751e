import { z } from 'zod'
import { Uuid } from '../lib/ids.js'
import { prose } from '../lib/prose.js'
import { ActorClaim } from '../tokens/access-token.js'
import { InvalidRequestBody, oauthErrorOf, UnavailableBody } from './error-bodies.js'
import { operation } from './openapi/operation.js'
import { CacheControlNoStore, PragmaNoCache, RetryAfter, RetryAfterWhenShed } from './response-headers.js'

/** The form POST /oauth2/introspect reads (the route reads it itself: one parameter, once). */
export const IntrospectionForm = z.object({
  token: z.string().min(1).describe('The access token, once (missing, empty or repeated is `invalid_request`).'),
  token_type_hint: z.string().optional().describe('Ignored.'),
})

/** What POST /oauth2/introspect answers with: RFC 7662 section 2.2. */
export const IntrospectionResponse = z
  .union([
    z.object({ active: z.literal(false) }).strict(),
    z
      .object({
        active: z.literal(true),
        iss: z.url(),
        sub: z.string(),
        aud: z.string(),
        scope: z.string().optional().describe('Absent when the token carries no scope.'),
        client_id: z.string(),
        token_type: z
          .enum(['Bearer', 'DPoP'])
          .describe('`DPoP` for a token bound to a DPoP key (RFC 9449 section 6.2): accept it only with a proof made with that key.'),
        cnf: z
          .object({ jkt: z.string() })
          .strict()
          .optional()
          .describe("A DPoP-bound token's key thumbprint (RFC 9449 section 6.2), as in the token; absent from bearer tokens."),
        exp: z.number().int(),
        iat: z.number().int(),
        nbf: z.number().int(),
        jti: Uuid,
        grants: z
          .array(Uuid)
          .optional()
          .describe('As in the token (`AccessTokenClaims`); absent from tokens minted before tokens carried it.'),
        src_h: z
          .array(z.string())
          .optional()
          .describe('As in the token (`AccessTokenClaims`); absent from tokens minted before tokens carried it.'),
        act: ActorClaim.optional().describe('The delegation chain, as in the token: present when somebody acts for `sub`.'),
        ancestor_jtis: z
          .array(Uuid)
          .optional()
          .describe('As in the token: the tokens it was exchanged from, present on a token exchanged from tokens of ours.'),
      })
      .strict(),
  ])
  .meta({ id: 'IntrospectionResponse', description: 'RFC 7662 section 2.2. Inactive is `{"active": false}` and nothing else.' })
export type IntrospectionResponse = z.infer<typeof IntrospectionResponse>

export const introspectOperation = operation({
  tags: ['introspection'],
  operationId: 'introspectToken',
  summary: 'Is this access token still good? (RFC 7662)',
  description: prose`
    OAuth 2.0 Token Introspection (RFC 7662), for resource servers that want revocations to count
    before a token expires. Authenticate with an admin token that has the \`introspect\` role (make
    one with \`POST /v1/admin-tokens\`).

    \`active\` is true only for one of this service's access tokens that is signed by a key of the
    JWKS, has \`typ: at+jwt\` and this issuer, has not expired (and its \`nbf\` has passed), is on the
    ledger with the same \`sub\`, \`aud\`, \`scope\`, \`exp\`, \`iat\`, \`client_id\`, \`grants\`, \`src_h\`, \`cnf\`, \`act\` and \`ancestor_jtis\` as
    the token, and is not revoked: not its \`jti\`, its subject, a grant it came from, a source of
    its attestation, an identity acting in its delegation chain (\`act\`) nor a token it was
    exchanged from (\`ancestor_jtis\`).
    The answer is the ledger's: a token signed with the service's key that disagrees with its
    ledger row (a forgery reusing a real \`jti\`) is inactive, and logged as a warning. Anything
    else, malformed or forged included, is \`{"active": false}\` and nothing more. Revocation state
    that cannot be checked is a 503, never a guess. Introspection has its own request budget
    (\`limits.introspectionRequestsPerMinute\`) and shares the failed-authentication budget of the
    admin API.

    \`token_type_hint\` and other parameters are ignored. Errors are RFC 6749 JSON like the token
    endpoint's: a missing or unknown admin token is \`401 invalid_token\`, one without the role
    \`403 insufficient_scope\`. Requests are rate limited per client address
    (\`limits.introspectionRequestsPerMinute\`, 60000 by default; 0 turns it off), apart from the
    admin API's limit.
  `,
  requestBody: {
    mediaType: 'application/x-www-form-urlencoded',
    schema: IntrospectionForm,
    example: {
      token: 'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCJ9.eyJpc3MiOiIuLi4ifQ.c2lnbmF0dXJl',
      token_type_hint: 'access_token',
    },
  },
  responses: {
    200: {
      description: 'Whether the token is active and, if it is, its claims. Never cache this response.',
      headers: { 'Cache-Control': CacheControlNoStore, Pragma: PragmaNoCache },
      content: { 'application/json': { schema: IntrospectionResponse } },
    },
    400: {
      description: '`token` is missing, empty or repeated.',
      content: {
        'application/json': {
          schema: InvalidRequestBody,
          example: { error: 'invalid_request', error_description: 'token is required, once', error_reason: 'parameter_missing' },
        },
      },
    },
    401: {
      description: 'The admin bearer token is missing, unknown, revoked or expired.',
      content: {
        'application/json': {
          schema: oauthErrorOf('invalid_token'),
          example: {
            error: 'invalid_token',
            error_description: 'an admin bearer token is required (Authorization: Bearer <token>)',
            error_reason: 'admin_token_missing',
          },
        },
      },
    },
    403: {
      description: 'The admin token does not have the `introspect` role.',
      content: {
        'application/json': {
          schema: oauthErrorOf('insufficient_scope'),
          example: {
            error: 'insufficient_scope',
            error_description: 'the admin token grant-reader does not have the role introspect',
            error_reason: 'role_missing',
          },
        },
      },
    },
    413: {
      description: 'The body is larger than `limits.maxBodyBytes` (65536 by default).',
      content: { 'application/json': { schema: InvalidRequestBody } },
    },
    415: {
      description: 'The body is missing or not `application/x-www-form-urlencoded`.',
      content: { 'application/json': { schema: InvalidRequestBody } },
    },
    429: {
      description:
        'This client address sent more than `limits.introspectionRequestsPerMinute` requests this ' + 'minute. Wait `Retry-After` seconds.',
      headers: { 'Retry-After': RetryAfter },
      content: { 'application/json': { schema: UnavailableBody } },
    },
    503: {
      description:
        'The revocation state, the ledger or the admin token store cannot answer right now: retry with backoff. ' +
        'Or this instance is overloaded (`error_reason` `overloaded`) and shed the request: retry after `Retry-After` seconds.',
      headers: { 'Retry-After': RetryAfterWhenShed },
      content: { 'application/json': { schema: UnavailableBody } },
    },
  },
})
