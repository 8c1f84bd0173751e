import { prose } from '../lib/prose.js'
import { ProblemBody } from './error-bodies.js'
import { component, type Response } from './openapi/operation.js'
import { RetryAfterWhenShed } from './response-headers.js'

/** The RFC 9457 problem answers the API description names in more than one place, each declared once. */

/** An answer in problem JSON, with an example of the body when one says more than the schema. */
export function problemResponse(description: string, example?: ProblemBody): Response {
  return { description, content: { 'application/problem+json': { schema: ProblemBody, ...(example ? { example } : {}) } } }
}

export const ValidationProblem = component<Response>(
  'responses',
  'ValidationProblem',
  problemResponse(
    prose`
      The body, query or path is not valid. \`errors\` lists every problem at once, each with the path
      of the field; a problem with the object itself, such as an unknown key, has the path \`(body)\`
      or \`(query)\`. No string anywhere in a request (value or key) may contain a NUL character
      (\`must not contain a NUL character\`), and ids in paths must be UUIDs (path \`id\`). Nothing
      invalid reaches a store, so bad input is never mistaken for an outage (503). A body that is
      not JSON at all is also a 400, without \`errors\`.
    `,
    {
      type: 'about:blank',
      title: 'Invalid request',
      status: 400,
      detail: 'the grant is not valid: audiences: Too small: expected array to have >=1 items',
      instance: '/v1/grants',
      reason: 'input_invalid',
      errors: [{ path: 'audiences', message: 'Too small: expected array to have >=1 items' }],
    },
  ),
)

export const NotFound = component<Response>(
  'responses',
  'NotFound',
  problemResponse('Nothing of this kind has this id.', {
    type: 'about:blank',
    title: 'Not found',
    status: 404,
    detail: 'no grant with id 437ebe95-6d54-45a7-a492-eecc2cb37dc1',
    instance: '/v1/grants/437ebe95-6d54-45a7-a492-eecc2cb37dc1',
    reason: 'grant_not_found',
  }),
)

export const PayloadTooLarge = component<Response>(
  'responses',
  'PayloadTooLarge',
  problemResponse('The body is larger than `limits.maxBodyBytes` (65536 by default).'),
)

export const UnsupportedMediaType = component<Response>(
  'responses',
  'UnsupportedMediaType',
  problemResponse('The body is not `application/json`.'),
)

export const ServiceUnavailable = component<Response>(
  'responses',
  'ServiceUnavailable',
  problemResponse('A store cannot answer right now. Retry with backoff.', {
    type: 'about:blank',
    title: 'Service unavailable',
    status: 503,
    detail: 'the ledger database is not reachable',
    instance: '/readyz',
    reason: 'database_unavailable',
  }),
)

/** What every route that load shedding applies to may answer with 503: a store's fault, or the instance overloaded. */
export const UnavailableOrOverloaded = component<Response>('responses', 'UnavailableOrOverloaded', {
  ...problemResponse(
    prose`
      A store cannot answer right now: retry with backoff. Or this instance is overloaded (reason
      \`overloaded\`: event-loop lag or utilization, or requests in flight, past the bounds in
      \`overload\`) and shed the request before doing anything for it: retry after \`Retry-After\`
      seconds, here or on another instance.
    `,
    {
      type: 'about:blank',
      title: 'Service unavailable',
      status: 503,
      detail: 'this instance is overloaded (its event loop lags more than overload.maxEventLoopDelayMs): retry in 5 s',
      instance: '/v1/grants',
      reason: 'overloaded',
    },
  ),
  headers: { 'Retry-After': RetryAfterWhenShed },
})

/** A revocation position (polling's `since`, the stream's) before what retention kept: the list and the stream answer it. */
export const RevocationCursorPruned = component<Response>(
  'responses',
  'RevocationCursorPruned',
  problemResponse(
    'The position is older than what retention kept (or than a confirmed restore of the database: README.md, "Backup and restore"): ' +
      'resynchronise from a full listing (no cursor), then poll or stream from its `cursor`.',
    {
      type: 'about:blank',
      title: 'Gone',
      status: 410,
      detail:
        'changes after position 41 are no longer all kept: revocations up to position 1200 were pruned by retention ' +
        '(revocations.retentionDays); resynchronise from a full listing (GET /v1/revocations without a cursor), then poll or stream from its cursor',
      instance: '/v1/revocations?since=41',
      reason: 'revocation_cursor_pruned',
    },
  ),
)
