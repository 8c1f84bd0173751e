import { z } from 'zod'
import { Uuid } from '../../lib/ids.js'
import { prose } from '../../lib/prose.js'
import { LiftInput, RevocationInput, RevocationJson, RevocationListQuery, RevocationNotice } from '../../revocation/revocation.js'
import { operation, type Response } from '../openapi/operation.js'
import {
  NotFound,
  PayloadTooLarge,
  problemResponse,
  RevocationCursorPruned,
  UnsupportedMediaType,
  ValidationProblem,
} from '../problem-responses.js'
import { CacheControlNoStore, Location } from '../response-headers.js'
import { ADMIN_FAILURES } from './admin-responses.js'

/** The path of one revocation. */
export const RevocationIdParams = z.object({
  id: Uuid.describe("The revocation's id. Anything that is not a UUID is refused with a 400."),
})

/** Where a stream starts. */
export const StreamQuery = z
  .object({
    cursor: z
      .string()
      .regex(/^\d{1,18}$/, 'a cursor from an earlier answer')
      .optional()
      .describe('Start after this position (a `cursor` from the list or an event `id`).'),
  })
  .strict()

/** Read by the route itself: a value that is not a position is ignored rather than refused. */
const LastEventIdHeader = z.object({
  'Last-Event-ID': z
    .string()
    .optional()
    .describe('The `id` of the last event received; wins over `cursor`. A value that is not a position is ignored.'),
})

const RevocationResponse = z.object({ revocation: RevocationJson }).strict().meta({ id: 'RevocationResponse' })

export const RevocationOutcome = z
  .object({
    revocation: RevocationJson,
    liveTokensCutOff: z
      .number()
      .int()
      .min(0)
      .nullable()
      .describe(
        'Unexpired tokens on the ledger this revocation covers; null when they could not be counted ' +
          '(see `liveTokensCutOffUnavailable`): the revocation is in force all the same.',
      ),
    liveTokensCutOffUnavailable: z
      .string()
      .optional()
      .describe('Present only when `liveTokensCutOff` is null: why the live tokens could not be counted.'),
    alreadyRevoked: z.boolean().describe('True when the target was already revoked and `revocation` is the one in force.'),
  })
  .strict()
  .meta({ id: 'RevocationOutcome' })
export type RevocationOutcome = z.infer<typeof RevocationOutcome>

const Position = z.string().regex(/^\d+$/)

export const RevocationList = z
  .object({
    revocations: z
      .array(z.union([RevocationJson, RevocationNotice]))
      .describe('Whole revocations; for a token with only `revocations:subscribe`, notices (`RevocationNotice`).'),
    cursor: Position.describe(
      'The position of the last change in this answer (or the position asked from, if it is empty); poll with it as `since`. ' +
        'On the last page, never below what retention pruned, so polling on from it is not refused.',
    ),
    nextCursor: Position.optional().describe('Present when there may be more; pass it as `cursor`. Absent on the last page.'),
  })
  .strict()
  .meta({ id: 'RevocationList' })
export type RevocationList = z.infer<typeof RevocationList>

/** One event of the stream, as an EventSource parses it. */
export const RevocationEvent = z
  .object({
    id: Position.describe("The revocation's `cursor`: resume after it with `Last-Event-ID`."),
    event: z.enum(['revoked', 'lifted']),
    // JSON Schema's way to say what the string holds; Revocation is a component (RevocationJson's id).
    data: z.string().meta({
      description: 'A `Revocation`; for a token with only `revocations:subscribe`, a `RevocationNotice`.',
      contentMediaType: 'application/json',
      contentSchema: { oneOf: [{ $ref: '#/components/schemas/Revocation' }, { $ref: '#/components/schemas/RevocationNotice' }] },
    }),
  })
  .strict()
  .meta({ id: 'RevocationEvent', description: 'One server-sent event of `GET /v1/revocations/stream`, its fields as parsed.' })

const revokedExample: RevocationJson = {
  id: '7c0e3a52-2f4d-4b8e-9a1c-5d6e7f8a9b0c',
  kind: 'subject',
  value: 'spiffe://example.org/k8s/prod/ns/payments/**',
  reason: 'credentials leaked (INC-1234)',
  createdAt: '2026-11-23T12:00:00.000Z',
  createdBy: 'bootstrap',
  expiresAt: null,
  liftedAt: null,
  liftedBy: null,
  liftReason: null,
  cursor: '42',
}

const outcome = (description: string): Response => ({
  description,
  headers: { Location },
  content: { 'application/json': { schema: RevocationOutcome } },
})

export const revocationOperations = {
  revoke: operation({
    tags: ['revocations'],
    operationId: 'revoke',
    summary: 'Revoke an identity, a grant, an attestation source or a token',
    description: prose`
      Stops new tokens for the target at once, on every instance. What \`kind\` names:
      - \`subject\`: a SPIFFE ID, or a glob of them with the syntax of a grant's \`subject\`: no token
        for a matching identity;
      - \`grant\`: a grant's id: no token from an exchange this grant contributes to, even if other
        grants would allow it;
      - \`source\`: an attestation source, such as a cluster \`k8s:prod\`, a node
        \`k8s:prod:node:node-a\` or a pod \`k8s:prod:pod:<pod uid>\`, an AWS account, region or instance
        (\`aws:111122223333\`, \`aws:111122223333:eu-west-1:i-0abc...\`), a GCP project, zone or instance,
        an Azure subscription, VM, tenant or principal, a GitHub owner or repository (by name or, safer,
        id: \`github:repository_id:620393838\`), an OIDC attestor (\`oidc:gitlab\`): no token for an
        attestation from it. It must be able to match a configured attestor's sources (each
        attestor's source ids begin with its own namespace: \`k8s:<cluster>\`, \`oidc:<name>\`, \`aws:\`,
        \`gcp:\`, \`azure:\`, \`github:\`, or the name of a github attestor for another issuer);
        anything else is a 400 whose detail lists the forms;
      - \`token\`: one issued token, by its \`jti\`.

      GitHub names are case-insensitive and minted lower-case: a \`source\` \`github:...\` or a \`subject\`
      \`spiffe://<td>/github/...\` is stored lower-cased (\`github:ACME/Api\` revokes \`github:acme/api\`).

      The revocation is durable in the database, with its audit entry (\`revocation.create\`), and is
      distributed to every instance through Redis before the answer: the database transaction
      commits only after Redis took it, the instance that made it applies it at once, and the answer
      waits until every instance with a current heartbeat has acknowledged it (at most
      \`redis.maxStalenessMs\`, 5 s by default, by which time a silent instance has failed closed).
      From the answer on, no instance mints for the target. An instance that has not heard from
      Redis for longer than \`redis.maxStalenessMs\`, or whose subscription dropped, refuses to issue
      tokens (503) until it has caught up rather than miss one. (Without \`REDIS_URL\` revocations
      reach only the instance that made them: run just one.)

      Tokens already issued stay valid JWTs until they expire, but introspection
      (\`POST /oauth2/introspect\`) now answers \`active: false\` for those the revocation covers, and
      resource servers that follow revocations (\`GET /v1/revocations/stream\`) can refuse them:
      \`liveTokensCutOff\` counts them, the unexpired tokens on the ledger the revocation covers. If
      they cannot be counted (the ledger does not answer in time), the revocation is still made and
      in force: the answer is 201 as ever, with \`liveTokensCutOff: null\` and
      \`liveTokensCutOffUnavailable\` saying why.

      Without \`expiresAt\`, a \`token\` revocation expires with the token (its expiry on the ledger;
      never, if the ledger does not know the \`jti\`), and the others never expire. An expired
      revocation stops counting; revoking its target again makes a new one.

      There is at most one standing revocation per target: revoking a target that already has one
      in force answers that one, with 200 and \`alreadyRevoked: true\`; nothing new is made and the
      new \`reason\` is not kept.
    `,
    requestBody: {
      mediaType: 'application/json',
      schema: RevocationInput,
      examples: {
        subject: {
          summary: 'Every service account of a namespace whose credentials leaked',
          value: {
            kind: 'subject',
            value: 'spiffe://example.org/k8s/prod/ns/payments/**',
            reason: 'credentials leaked (INC-1234)',
          },
        },
        token: {
          summary: 'One token pasted into a ticket',
          value: { kind: 'token', value: '3f1c9a2e-5b7d-4e8f-9a0b-1c2d3e4f5a6b', reason: 'token pasted in a ticket' },
        },
      },
    },
    responses: {
      200: outcome('The target was already revoked; this is the revocation in force (`alreadyRevoked` is true).'),
      201: outcome('Revoked.'),
      400: ValidationProblem,
      413: PayloadTooLarge,
      415: UnsupportedMediaType,
      ...ADMIN_FAILURES,
    },
  }),
  list: operation({
    tags: ['revocations'],
    operationId: 'listRevocations',
    summary: 'List revocations, or poll for changes',
    description: prose`
      Revocations in force, lifted and expired alike (narrow with \`active\`), in the order of their
      last change: a lift moves a revocation to the end, with a new \`cursor\`. Each revocation's
      \`cursor\` is its position in that order.

      To poll, keep the answer's \`cursor\` and ask again with \`since=<cursor>\`: you get the changes
      after it (each revocation once, as it is now). To page, pass \`nextCursor\` as \`cursor\`, with the
      same filters. Both are positions; when both are sent, \`cursor\` is used.

      Revocations lifted or expired \`revocations.retentionDays\` (7) ago are pruned: a \`since\` before
      them is answered 410 (\`revocation_cursor_pruned\`), never a silent gap. Resynchronise from a full
      listing (no \`since\`, no \`cursor\`, to its last page) and poll on from its \`cursor\`.

      A token with only \`revocations:subscribe\` (a resource server's verifier) is answered
      \`RevocationNotice\`s: no reasons, no actors, a source by its keyed hash (\`sourceHash\`, as tokens
      carry it in \`src_h\`). It may not filter by \`value\` (403): that would confirm a guessed source id.
    `,
    parameters: { query: RevocationListQuery },
    responses: {
      200: {
        description: 'One page. Unknown query parameters are refused with 400.',
        content: { 'application/json': { schema: RevocationList } },
      },
      400: ValidationProblem,
      410: RevocationCursorPruned,
      ...ADMIN_FAILURES,
    },
  }),
  stream: operation({
    tags: ['revocations'],
    operationId: 'streamRevocations',
    summary: 'Follow revocations as they happen (server-sent events)',
    description: prose`
      A \`text/event-stream\` of every change from a position on, as it happens. Each event is
      \`id: <cursor>\`, \`event: revoked\` (a revocation made) or \`event: lifted\` (one lifted), and
      \`data:\` the revocation as JSON (a \`Revocation\`); see \`RevocationEvent\`. Expiry is not an event:
      a revocation's \`expiresAt\` says when it stops counting.

      Without \`Last-Event-ID\` or \`cursor\` the stream starts at the present. To start from what is
      already in force, page through \`GET /v1/revocations\` to its last page and open the stream with
      that answer's \`cursor\`, so nothing falls in between. A client that reconnects
      with \`Last-Event-ID\` (EventSource does) or \`cursor\` gets every change after that position, each
      revocation once as it is now, with no gap: events are read from the durable log, in order.

      The stream opens with \`retry: 1000\` and a comment, and sends a \`: keep-alive\` comment every
      15 s. It has no end of its own; close it when done. Its admin token is checked again while it
      is open (within the same 5 s as any request, and before every batch of events): once the token
      is revoked, expired or no longer has the role, the stream sends one last event,
      \`event: closed\` with \`data: {"reason": "..."}\` (no \`id\`), and ends; reconnecting with that token
      is refused (401). When the instance shuts down, the stream's last event is \`event: shutdown\`
      with \`data: {"reason": ..., "cursor": "<last position sent>"}\` (no \`id\`), and the stream ends:
      reconnect (to another instance) with \`Last-Event-ID\` to resume.

      A position before what retention pruned is answered 410 (\`revocation_cursor_pruned\`); a stream
      passed by retention while open ends with \`event: gone\` (\`data: {"reason", "detail", "cursor"}\`).
      Either way, resynchronise from a full listing and stream from its \`cursor\`.

      For a token with only \`revocations:subscribe\`, each event's data is a \`RevocationNotice\`: no
      reasons, no actors, a source by its keyed hash (\`sourceHash\`, as tokens carry it in \`src_h\`).
      Whole revocations carry \`sourceHash\` too.
    `,
    parameters: { query: StreamQuery, header: LastEventIdHeader },
    responses: {
      200: {
        description: 'The stream.',
        headers: {
          'Cache-Control': CacheControlNoStore,
          'X-Accel-Buffering': { description: 'Tells nginx-style proxies not to buffer the stream.', schema: z.literal('no') },
        },
        content: {
          'text/event-stream': {
            schema: z.string().describe('Server-sent events, each a `RevocationEvent`.'),
            example: prose`
              retry: 1000
              : stream of revocations after 41

              id: 42
              event: revoked
              data: ${JSON.stringify(revokedExample)}
            `,
          },
        },
      },
      400: ValidationProblem,
      410: RevocationCursorPruned,
      ...ADMIN_FAILURES,
    },
  }),
  read: operation({
    tags: ['revocations'],
    operationId: 'getRevocation',
    summary: 'Read a revocation',
    description: prose`
      The revocation, in force or not. An id that is not a revocation's is not found (404).
    `,
    parameters: { path: RevocationIdParams },
    responses: {
      200: { description: 'The revocation.', content: { 'application/json': { schema: RevocationResponse } } },
      400: ValidationProblem,
      404: NotFound,
      ...ADMIN_FAILURES,
    },
  }),
  lift: operation({
    tags: ['revocations'],
    operationId: 'liftRevocation',
    summary: 'Lift a revocation',
    description: prose`
      Lifts a standing revocation (one not lifted yet, expired or not), saying why in the JSON body.
      It stops counting at once on every instance, moves to the end of the list with a new
      \`cursor\`, and is sent on the stream as \`lifted\`. Recorded on the audit log as
      \`revocation.lift\`. The revocation stays on record. A signing key's revocation (kind \`key\`,
      made by \`POST /v1/keys/{kid}/revoke\`) cannot be lifted.
    `,
    parameters: { path: RevocationIdParams },
    requestBody: { mediaType: 'application/json', schema: LiftInput, example: { reason: 'credentials rotated' } },
    responses: {
      200: { description: 'The revocation, lifted.', content: { 'application/json': { schema: RevocationResponse } } },
      400: ValidationProblem,
      404: problemResponse('No standing revocation has this id (none has it, or it was lifted already).', {
        type: 'about:blank',
        title: 'Not found',
        status: 404,
        detail: `no standing revocation with id ${revokedExample.id}`,
        instance: `/v1/revocations/${revokedExample.id}`,
        reason: 'revocation_not_found',
      }),
      409: problemResponse(
        'The revocation is of a signing key (kind `key`): a revoked key stays revoked, its private key erased (`key_revocation_permanent`).',
      ),
      413: PayloadTooLarge,
      415: UnsupportedMediaType,
      ...ADMIN_FAILURES,
    },
  }),
}
