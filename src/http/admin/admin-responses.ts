import { z } from 'zod'
import { prose } from '../../lib/prose.js'
import { component, type Response } from '../openapi/operation.js'
import { problemResponse, UnavailableOrOverloaded } from '../problem-responses.js'
import { RetryAfter } from '../response-headers.js'

/** What every admin operation may answer, whatever its route: the admin scope's refusals (admin-scope.ts). */

export const Unauthorized = component<Response>('responses', 'Unauthorized', {
  ...problemResponse('The admin bearer token is missing, unknown, revoked or expired.', {
    type: 'about:blank',
    title: 'Unauthorized',
    status: 401,
    detail: 'an admin bearer token is required (Authorization: Bearer <token>)',
    instance: '/v1/grants',
    reason: 'admin_token_missing',
  }),
  headers: { 'WWW-Authenticate': { required: true, schema: z.literal('Bearer realm="seed-sts-admin"') } },
})

export const Forbidden = component<Response>(
  'responses',
  'Forbidden',
  problemResponse('The admin token is valid but does not have the role this operation needs (its `x-seed-sts-role`).', {
    type: 'about:blank',
    title: 'Forbidden',
    status: 403,
    detail: 'the admin token ledger-resource-server does not have the role grants:read',
    instance: '/v1/grants',
    reason: 'role_missing',
  }),
)

export const TooManyRequests = component<Response>('responses', 'TooManyRequests', {
  ...problemResponse(
    prose`
      This client address sent more than \`limits.adminRequestsPerMinute\` admin requests this
      minute, all admin routes together (one budget, not one per route; an open revocation
      stream counts once), counting those refused for a missing or wrong token or a missing role;
      or it failed authentication more than \`limits.adminAuthFailuresPerMinute\` times this minute
      (admin API and introspection together), and is refused even with a valid token. With
      \`REDIS_URL\` the budgets hold across instances. Wait \`Retry-After\` seconds.
    `,
    {
      type: 'about:blank',
      title: 'Too many requests',
      status: 429,
      detail: 'rate limit exceeded: retry in 60 s',
      instance: '/v1/grants',
      reason: 'rate_limited',
    },
  ),
  headers: { 'Retry-After': RetryAfter },
})

/** The refusals every admin operation documents: spread into each operation's responses. */
export const ADMIN_FAILURES = { 401: Unauthorized, 403: Forbidden, 429: TooManyRequests, 503: UnavailableOrOverloaded }
