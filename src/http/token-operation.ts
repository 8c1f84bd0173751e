import { z } from 'zod'
import { SUPPORTED_REQUESTED_TOKEN_TYPES, TokenExchangeForm } from '../exchange/token-request.js'
import { prose } from '../lib/prose.js'
import { InvalidRequestBody, OAuthErrorBody, oauthErrorOf, oauthErrorResponse, UnavailableBody } from './error-bodies.js'
import { operation, type Response } from './openapi/operation.js'
import { DPOP_DESCRIPTION, DPOP_ERROR_EXAMPLES, DpopNonceHeader } from './token-dpop-docs.js'
import { DELEGATION_DESCRIPTION, DELEGATION_ERROR_EXAMPLES } from './token-delegation-docs.js'
import {
  CacheControlNoStore,
  PragmaNoCache,
  RateLimitLimit,
  RateLimitRemaining,
  RateLimitReset,
  RequestId,
  RetryAfter,
  RetryAfterWhenShed,
} from './response-headers.js'

/** What POST /oauth2/token answers with: RFC 8693 section 2.2.1. */
export const TokenResponse = z
  .object({
    access_token: z
      .string()
      .describe(
        prose`
        An RFC 9068 JWT access token: header \`typ: at+jwt\`, \`alg\` ES256 or EdDSA, \`kid\` of a key
        in the JWKS (see \`AccessTokenHeader\`), claims as in \`AccessTokenClaims\`. Treat it as a
        secret: do not log it.
      `,
      )
      .meta({ contentMediaType: 'application/at+jwt' }),
    issued_token_type: z
      .enum(SUPPORTED_REQUESTED_TOKEN_TYPES)
      .describe('The `requested_token_type` of the request (access_token unless another was asked for).'),
    token_type: z
      .enum(['Bearer', 'DPoP'])
      .describe(
        '`Bearer`: send `Authorization: Bearer <access_token>`. `DPoP`: bound to the DPoP key, send `Authorization: DPoP` with a proof.',
      ),
    expires_in: z
      .number()
      .int()
      .min(1)
      .describe("Seconds the token is valid for from now (its `exp` minus `iat`); the request's " + '`expires_in` when it sent one.'),
    scope: z
      .string()
      .optional()
      .describe(
        'The scopes the token carries, space-separated (one or more RFC 6749 scope tokens). Absent, ' +
          'never empty, when it carries none.',
      ),
  })
  .strict()
  .meta({ id: 'TokenResponse', description: 'RFC 8693 section 2.2.1 success response.' })

/** OAuth errors must not be cached either (RFC 6749 section 5.1). */
const NOT_CACHED = { 'Cache-Control': CacheControlNoStore }

function oauthError(description: string, schema: z.ZodType, example: OAuthErrorBody, headers: Response['headers'] = NOT_CACHED): Response {
  return oauthErrorResponse(description, schema, example, headers)
}

export const tokenOperation = operation({
  tags: ['token'],
  operationId: 'exchangeToken',
  summary: 'Exchange a workload attestation for an access token',
  description:
    prose`
    OAuth 2.0 Token Exchange (RFC 8693 section 2.1). There is no client authentication: the
    workload is a public client and the \`subject_token\` is its proof of identity.

    The service, in order:
    1. verifies the \`subject_token\` (and an \`actor_token\`, the same way) with the attestor configured for its issuer (JWTs) or for its
       \`subject_token_type\` (AWS instance identity documents, Azure attested data): signature,
       issuer, audience, expiry, maximum lifetime, account/project/subscription/owner allow-lists;
       and derives the workload's identity, a SPIFFE ID such as
       \`spiffe://example.org/k8s/prod/ns/payments/sa/api\`,
       \`spiffe://example.org/aws/111122223333/eu-west-1/i-0abc...\`,
       \`spiffe://example.org/gcp/<project>/<zone>/<instance>\`,
       \`spiffe://example.org/azure/<subscription>/vm/<vmId>\`,
       \`spiffe://example.org/github/<owner>/<repo>\` (lower-case; another GitHub issuer than
       github.com's: \`<attestor name>/<owner>/<repo>\`). Each attestor mints only under a namespace
       of its own, so no two attestors mint the same identity. A single-use attestation (GitHub Actions and
       OIDC tokens, Azure attested data by default) is claimed on every instance at once, in the
       database; presented again, in any spelling, it is refused with \`invalid_grant\` (a JWT's
       three parts must be canonical base64url). An AWS document must come with the nonce its
       instance registered with; the registration is made only once every other check has passed.
       The identity then spends one of its \`limits.tokenRequestsPerIdentityPerMinute\` (429 past
       it, before a single-use attestation is claimed);
    2. finds the enabled, unexpired grants whose \`subject\` glob and \`conditions\` match it
       (none: \`invalid_grant\`);
    3. picks the audience: the \`audience\` parameter, or, when it is omitted, the one audience the
       matching grants name (if they name several: \`invalid_request\`). An audience no matching
       grant names is refused with \`invalid_target\`;
    4. picks the scopes: with \`scope\`, exactly those (one not granted for that audience is
       refused with \`invalid_scope\`, never silently dropped); without it, every scope the
       grants give for that audience;
    5. refuses a revoked identity, grant or attestation source (\`invalid_grant\`);
    6. records the token on the ledger and signs it.

    The token lives \`expires_in\` seconds when the request asks for a lifetime, otherwise the
    server's default (\`tokens.defaultTtlSeconds\`, 300 s unless configured). Either way it lives
    no longer than the least \`maxTtlSeconds\` of the grants that contributed to it nor the
    server cap \`tokens.maxTtlSeconds\` (3600 s unless configured): without \`expires_in\` the
    default is shortened to fit; an \`expires_in\` longer than that is refused with
    \`invalid_request\`, never silently shortened.

    A store that cannot answer (ledger, grants, revocation state, an issuer's JWKS) stops the
    exchange with \`503 temporarily_unavailable\`: the service never issues a token it could not
    check. Requests are rate-limited per client address (\`limits.tokenRequestsPerMinute\`,
    6000 by default).
  ` + `\n${DPOP_DESCRIPTION}\n${DELEGATION_DESCRIPTION}`,
  requestBody: {
    mediaType: 'application/x-www-form-urlencoded',
    schema: TokenExchangeForm,
    examples: {
      kubernetes: {
        summary: 'A pod exchanges its projected service-account token',
        value: {
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token:
            'eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9.eyJpc3MiOiJodHRwczovL2t1YmVybmV0ZXMuZGVmYXVsdC5zdmMiL' + 'CIuLi4iOiIuLi4ifQ.c2lnbmF0dXJl',
          subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
          audience: 'ledger-api',
          scope: 'ledger:read',
        },
      },
      aws: {
        summary: 'An EC2 instance exchanges its identity document with the nonce it registered',
        value: {
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token:
            '{"document":"{\\n  \\"accountId\\" : \\"111122223333\\", ' +
            '...}","signature":"dExiJu...","nonce":"7f3a9c1e-instance-local-secret"}',
          subject_token_type: 'urn:seed-sts:token-type:aws-instance-identity',
          audience: 'registry',
          scope: 'artifacts:push',
        },
      },
      azure: {
        summary: 'An Azure VM exchanges its IMDS attested data',
        value: {
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token: '{"encoding":"pkcs7","signature":"MIILiQYJKoZIhvcNAQcCoIILejCCC3YCAQExDzANBgkqhkiG9w0BAQsFA' + 'DCCAUQG..."}',
          subject_token_type: 'urn:seed-sts:token-type:azure-attested-data',
          audience: 'vault',
        },
      },
      github: {
        summary: "A GitHub Actions job exchanges the token of core.getIDToken('sts.example.org')",
        value: {
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token:
            'eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9.eyJpc3MiOiJodHRwczovL3Rva2VuLmFjdGlvbnMuZ2l0aHVidXNlc' +
            'mNvbnRlbnQuY29tIiwiLi4uIjoiLi4uIn0.c2lnbmF0dXJl',
          subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
          audience: 'deploy',
        },
      },
    },
  },
  responses: {
    200: {
      description: 'The token. Never cache this response.',
      headers: {
        'Cache-Control': CacheControlNoStore,
        Pragma: PragmaNoCache,
        'X-Request-Id': RequestId,
        'X-RateLimit-Limit': RateLimitLimit,
        'X-RateLimit-Remaining': RateLimitRemaining,
        'X-RateLimit-Reset': RateLimitReset,
        'DPoP-Nonce': DpopNonceHeader,
      },
      content: {
        'application/json': {
          schema: TokenResponse,
          examples: {
            issued: {
              value: {
                access_token:
                  'eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6IjRnZ1NKYS0waUN5SU1SMGlyTXR5UDRJSmMydlI1YT' +
                  'M2Nm1Ibk9LUHRmYU0ifQ.eyJpc3MiOiJodHRwczovL3N0cy5leGFtcGxlLm9yZyIsInN1YiI6InNwaWZmZTovL2V4Y' +
                  'W1wbGUub3JnL2s4cy9wcm9kL25zL3BheW1lbnRzL3NhL2FwaSIsImF1ZCI6ImxlZGdlci1hcGkifQ.c2lnbmF0dXJl',
                issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
                token_type: 'Bearer',
                expires_in: 300,
                scope: 'ledger:read',
              },
            },
          },
        },
      },
    },
    400: {
      description:
        'The request was refused. `error` is the OAuth error code, `error_reason` says which ' +
        'refusal it is (switch on these two), `error_description` says exactly what to fix.',
      headers: { 'Cache-Control': CacheControlNoStore, Pragma: PragmaNoCache, 'DPoP-Nonce': DpopNonceHeader },
      content: {
        'application/json': {
          schema: oauthErrorOf(
            'invalid_request',
            'invalid_grant',
            'invalid_scope',
            'invalid_target',
            'unsupported_grant_type',
            'invalid_dpop_proof',
            'use_dpop_nonce',
          ),
          examples: {
            invalid_request: {
              summary:
                'A parameter is missing, repeated or malformed, several audiences are ' +
                'granted and none was named, or expires_in is longer than allowed',
              value: {
                error: 'invalid_request',
                error_description: 'subject_token_type is required',
                error_reason: 'parameter_missing',
              },
            },
            invalid_grant: {
              summary:
                'The attestation is not acceptable (signature, issuer, audience, expiry, allow-lists), no ' +
                'grant matches, or something is revoked',
              value: {
                error: 'invalid_grant',
                error_description: 'no grant allows spiffe://example.org/k8s/prod/ns/payments/sa/api to get a token',
                error_reason: 'not_granted',
              },
            },
            replayed: {
              summary: 'A single-use attestation presented a second time',
              value: {
                error: 'invalid_grant',
                error_description: 'this attestation was already used: single-use attestations are accepted once',
                error_reason: 'replayed',
              },
            },
            invalid_scope: {
              summary: 'A requested scope is malformed or not granted for the audience',
              value: {
                error: 'invalid_scope',
                error_description:
                  'scope "ledger:admin" is not granted to spiffe://example.org/k8s/prod/ns/payments/sa/api ' + 'for audience "ledger-api"',
                error_reason: 'scope_not_granted',
              },
            },
            invalid_target: {
              summary: 'The audience is not granted, was sent twice, or resource was sent',
              value: {
                error: 'invalid_target',
                error_description: 'audience "billing-api" is not granted to spiffe://example.org/k8s/prod/ns/payments/sa/api',
                error_reason: 'audience_not_granted',
              },
            },
            unsupported_grant_type: {
              summary: 'grant_type is not token exchange',
              value: {
                error: 'unsupported_grant_type',
                error_description: 'only urn:ietf:params:oauth:grant-type:token-exchange is supported',
                error_reason: 'grant_type_unsupported',
              },
            },
            ...DPOP_ERROR_EXAMPLES,
            ...DELEGATION_ERROR_EXAMPLES,
          },
        },
      },
    },
    413: oauthError('The body is larger than `limits.maxBodyBytes` (65536 by default).', InvalidRequestBody, {
      error: 'invalid_request',
      error_description: 'Request body is too large',
      error_reason: 'body_too_large',
    }),
    415: oauthError('The body is missing or not `application/x-www-form-urlencoded` (JSON is not accepted).', InvalidRequestBody, {
      error: 'invalid_request',
      error_description: 'the body must be application/x-www-form-urlencoded',
      error_reason: 'media_type_unsupported',
    }),
    429: {
      description: prose`
        This client address sent more than \`limits.tokenRequestsPerMinute\` requests this minute
        (counted per instance, before anything else), or the identity the attestation proves asked
        for more than \`limits.tokenRequestsPerIdentityPerMinute\` tokens this minute, from whatever
        addresses (counted once the attestation verifies, with \`REDIS_URL\` across instances;
        a single-use attestation is not spent). Wait \`Retry-After\` seconds.
      `,
      headers: { ...NOT_CACHED, 'Retry-After': RetryAfter },
      content: {
        'application/json': {
          schema: UnavailableBody,
          examples: {
            rate_limited: {
              summary: 'Too many requests from this address',
              value: {
                error: 'temporarily_unavailable',
                error_description: 'rate limit exceeded: retry in 60 s',
                error_reason: 'rate_limited',
              },
            },
            identity_rate_limited: {
              summary: 'Too many tokens for this identity',
              value: {
                error: 'temporarily_unavailable',
                error_description:
                  'spiffe://example.org/k8s/prod/ns/payments/sa/api asked for more than 3000 tokens this minute ' +
                  '(limits.tokenRequestsPerIdentityPerMinute): retry in 12 s',
                error_reason: 'identity_rate_limited',
              },
            },
          },
        },
      },
    },
    500: oauthError(
      'An unexpected fault. Nothing about it is shown; the server logs it with the request id.',
      oauthErrorOf('server_error'),
      { error: 'server_error', error_description: 'internal server error', error_reason: 'internal_error' },
    ),
    503: oauthError(
      prose`
        A store or an issuer's JWKS cannot answer right now, so no token is issued (fail closed):
        retry with backoff. Or this instance is overloaded (\`error_reason\` \`overloaded\`: see
        \`overload\` in the configuration) and shed the request before doing anything for it: retry
        after \`Retry-After\` seconds, here or on another instance. (An instance that is shutting
        down still answers the requests it has already received, in the formats documented here; it
        stops accepting connections, so retry a refused or reset connection against another
        instance.)
      `,
      UnavailableBody,
      {
        error: 'temporarily_unavailable',
        error_description: 'revocation state cannot be checked',
        error_reason: 'revocations_unavailable',
      },
      { ...NOT_CACHED, 'Retry-After': RetryAfterWhenShed },
    ),
  },
})
