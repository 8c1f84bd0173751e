import { z } from 'zod'
import { GrantInput, GrantJson, GrantListQuery, GrantReplacement } from '../../grants/grant.js'
import { Uuid } from '../../lib/ids.js'
import { prose } from '../../lib/prose.js'
import { ProblemBody } from '../error-bodies.js'
import { component, operation, type Example, type Header } from '../openapi/operation.js'
import { NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationProblem } from '../problem-responses.js'
import { ADMIN_FAILURES } from './admin-responses.js'
import { GrantWritten } from './grant-guardrail-operations.js'

/** The path of one grant: its id, a UUID, checked before any store is asked. */
export const GrantIdParams = z.object({
  id: Uuid.describe(
    "The grant's id. Anything that is not a UUID (8-4-4-4-12 hex digits) is refused with a 400 " + 'before any store is asked.',
  ),
})

/** PUT's precondition (read by the route itself: its absence is answered before the body is read). */
const IfMatchHeader = z.object({
  'If-Match': z.string().meta({ example: '"3"' }).describe(prose`
        RFC 9110 section 13.1.1: the \`ETag\` from your last read, such as \`"3"\`; or a
        comma-separated list of them, which matches if any one does; or \`*\`, which matches
        whatever the current version is (it overwrites other writers' changes: avoid it). Tags
        are compared strongly: a weak tag such as \`W/"3"\` never matches. Missing: 428. Matching
        no current version (stale, weak or malformed): 412.
      `),
})

const GrantList = z
  .object({
    grants: z.array(GrantJson),
    nextCursor: z.string().optional().describe('Present when there may be more; pass it as `cursor`. Absent on the last page.'),
  })
  .strict()
  .meta({ id: 'GrantList' })

const ETag = component<Header>('headers', 'ETag', {
  description: `The grant's version as a strong entity tag, such as \`"3"\`. Send it as \`If-Match\` to \`PUT\`.`,
  required: true,
  schema: z
    .string()
    .regex(/^"\d+"$/)
    .meta({ example: '"1"' }),
})

const grant = {
  id: '437ebe95-6d54-45a7-a492-eecc2cb37dc1',
  subject: 'spiffe://example.org/k8s/prod/ns/payments/sa/*',
  conditions: { cluster: 'prod' },
  audiences: ['ledger-api'],
  scopes: ['ledger:read', 'ledger:write'],
  maxTtlSeconds: 600,
  owner: 'team-payments',
  description: 'Payments workloads reach the ledger.',
  expiresAt: '2027-02-21T12:00:00.000Z',
  enabled: true,
  requireDpop: false,
  mayAct: [],
  version: 1,
  createdAt: '2026-11-23T12:00:00.000Z',
  updatedAt: '2026-11-23T12:00:00.000Z',
}

const GrantExample = component<Example>('examples', 'Grant', { value: grant })

const grantResponse = (description: string) => ({
  description,
  headers: { ETag },
  content: { 'application/json': { schema: GrantJson } },
})

export const grantOperations = {
  create: operation({
    tags: ['grants'],
    operationId: 'createGrant',
    summary: 'Create a grant',
    description: prose`
      Creates a grant at version 1. Omitted optional fields take the defaults shown in \`GrantInput\`.
      Recorded on the audit log as \`grant.create\`. For a \`subject\` in github.com's namespace
      (\`spiffe://<td>/github/...\`) the subject and the conditions on GitHub's case-insensitive claims
      (\`repository\`, \`repository_owner\`, \`actor\`, \`environment\`, the \`<owner>/<repo>\` of
      \`workflow_ref\` and \`job_workflow_ref\`) are lower-cased, as the service mints them (also on
      replace). Held to the guardrails (README.md, "Guardrails"): a rule configured to deny is a 400
      with reason \`grant_guardrail_denied\` naming every such rule in \`violations\`; the rules
      configured to warn come back in \`warnings\` (and on the audit entry). \`POST /v1/grants:validate\`
      checks without saving.
    `,
    requestBody: {
      mediaType: 'application/json',
      schema: GrantInput,
      examples: {
        payments: {
          summary: 'Payments service accounts in prod may read and write the ledger',
          value: {
            subject: 'spiffe://example.org/k8s/prod/ns/payments/sa/*',
            conditions: { cluster: 'prod' },
            audiences: ['ledger-api'],
            scopes: ['ledger:read', 'ledger:write'],
            maxTtlSeconds: 600,
            owner: 'team-payments',
            description: 'Payments workloads reach the ledger.',
          },
        },
      },
    },
    responses: {
      201: {
        description: 'Created.',
        headers: {
          Location: {
            description: "The new grant's URL.",
            required: true,
            schema: z.string().meta({ example: '/v1/grants/437ebe95-6d54-45a7-a492-eecc2cb37dc1' }),
          },
          ETag,
        },
        content: { 'application/json': { schema: GrantWritten, examples: { grant: GrantExample } } },
      },
      400: ValidationProblem,
      413: PayloadTooLarge,
      415: UnsupportedMediaType,
      ...ADMIN_FAILURES,
    },
  }),
  list: operation({
    tags: ['grants'],
    operationId: 'listGrants',
    summary: 'List grants',
    description: prose`
      Grants oldest first, enabled and disabled alike, one page at a time. While the response has a
      \`nextCursor\`, pass it back as \`cursor\` (with the same filters) to get the next page.
    `,
    parameters: { query: GrantListQuery },
    responses: {
      200: {
        description: 'One page. Unknown query parameters are refused with 400.',
        content: {
          'application/json': {
            schema: GrantList,
            example: {
              grants: [grant],
              nextCursor: 'WyIyMDI2LTExLTIzVDEyOjAwOjAwLjAwMFoiLCI0MzdlYmU5NS02ZDU0LTQ1YTctYTQ5Mi1lZWNjMmNiMzdkYzEiXQ',
            },
          },
        },
      },
      400: ValidationProblem,
      ...ADMIN_FAILURES,
    },
  }),
  read: operation({
    tags: ['grants'],
    operationId: 'getGrant',
    summary: 'Read a grant',
    description: prose`
      Read it before a \`PUT\`: its \`ETag\` is what \`If-Match\` needs.
    `,
    parameters: { path: GrantIdParams },
    responses: {
      200: { ...grantResponse('The grant.'), content: { 'application/json': { schema: GrantJson, examples: { grant: GrantExample } } } },
      400: ValidationProblem,
      404: NotFound,
      ...ADMIN_FAILURES,
    },
  }),
  replace: operation({
    tags: ['grants'],
    operationId: 'replaceGrant',
    summary: 'Replace a grant',
    description: prose`
      Replaces the whole grant with the body, guarded by \`If-Match\`, and bumps its version.

      The body is a \`GrantReplacement\`: every field of a grant, none left out and none defaulted,
      so leaving out \`conditions\` or \`enabled\` can never widen or re-enable a grant by accident.
      The read-only fields of a \`Grant\` (\`id\`, \`version\`, \`createdAt\`, \`updatedAt\`) may be sent
      back as they were read and are ignored, so read, modify and write back: \`GET\` the grant,
      change what you mean to change, \`PUT\` it with the \`ETag\` you got as \`If-Match\`. An \`id\` that
      is not this grant's is a 400.

      In order: without \`If-Match\` the answer is 428, before the body is validated and even for an
      unknown id; then the body is validated (400), the grant looked up (404), and \`If-Match\`
      compared with its current version (412), and the guardrails applied as on create (400
      \`grant_guardrail_denied\`, or \`warnings\`). Recorded on the audit log as \`grant.replace\`, with the
      grant before and after.
    `,
    parameters: { path: GrantIdParams, header: IfMatchHeader },
    requestBody: {
      mediaType: 'application/json',
      schema: GrantReplacement,
      examples: {
        readModifyWrite: { summary: 'A grant just read, sent back with one scope removed', value: { ...grant, scopes: ['ledger:read'] } },
      },
    },
    responses: {
      200: {
        ...grantResponse('The grant as replaced; `warnings` as on create.'),
        content: { 'application/json': { schema: GrantWritten } },
      },
      400: {
        description: prose`
          The body is not a valid \`GrantReplacement\` (a field left out, an unknown key, \`expiresAt\`
          not in the future) or its \`id\` is another grant's. \`errors\` lists every problem. A body
          that is not JSON at all is also a 400, without \`errors\`.
        `,
        content: {
          'application/problem+json': {
            schema: ProblemBody,
            examples: {
              incomplete: {
                summary: 'Fields left out are not defaulted',
                value: {
                  type: 'about:blank',
                  title: 'Invalid request',
                  status: 400,
                  detail: 'the grant is not valid: enabled: Invalid input: expected boolean, received undefined',
                  instance: '/v1/grants/437ebe95-6d54-45a7-a492-eecc2cb37dc1',
                  reason: 'input_invalid',
                  errors: [{ path: 'enabled', message: 'Invalid input: expected boolean, received undefined' }],
                },
              },
              anotherGrant: {
                summary: "The body's id is not the path's",
                value: {
                  type: 'about:blank',
                  title: 'Invalid request',
                  status: 400,
                  detail: 'the body is another grant',
                  instance: '/v1/grants/437ebe95-6d54-45a7-a492-eecc2cb37dc1',
                  reason: 'input_invalid',
                  errors: [{ path: 'id', message: 'must be 437ebe95-6d54-45a7-a492-eecc2cb37dc1 or left out' }],
                },
              },
            },
          },
        },
      },
      404: NotFound,
      412: {
        description: prose`
          \`If-Match\` matches no current version: someone changed the grant since you read it, or the
          tag is weak or not one this API hands out. (Rarely, the grant changed while this
          replacement was being written: same answer.) Read it again, reapply your change, retry.
        `,
        content: {
          'application/problem+json': {
            schema: ProblemBody,
            example: {
              type: 'about:blank',
              title: 'Precondition failed',
              status: 412,
              detail: 'grant 437ebe95-6d54-45a7-a492-eecc2cb37dc1 is at version 2, not the one in If-Match; read ' + 'it again and retry',
              instance: '/v1/grants/437ebe95-6d54-45a7-a492-eecc2cb37dc1',
              reason: 'version_mismatch',
            },
          },
        },
      },
      413: PayloadTooLarge,
      415: UnsupportedMediaType,
      428: {
        description: '`If-Match` is missing. Checked before the body and the id.',
        content: {
          'application/problem+json': {
            schema: ProblemBody,
            example: {
              type: 'about:blank',
              title: 'Precondition required',
              status: 428,
              detail: "send If-Match with the ETag of the grant you read, so no one else's change is lost",
              instance: '/v1/grants/437ebe95-6d54-45a7-a492-eecc2cb37dc1',
              reason: 'if_match_required',
            },
          },
        },
      },
      ...ADMIN_FAILURES,
    },
  }),
  disable: operation({
    tags: ['grants'],
    operationId: 'disableGrant',
    summary: 'Disable a grant',
    description: prose`
      Disables the grant (\`enabled: false\`) and returns it; it is not erased, so ledger entries
      keep pointing at it. New exchanges stop matching it at once; tokens already issued stay valid
      until they expire (revoke them to stop them sooner). Idempotent: disabling a disabled grant
      changes nothing, not even its version, and writes no audit entry; otherwise it is recorded as
      \`grant.disable\`. Re-enable with \`PUT\` and \`enabled: true\`. No \`If-Match\` is needed.
    `,
    parameters: { path: GrantIdParams },
    responses: {
      200: grantResponse('The grant, now disabled.'),
      400: ValidationProblem,
      404: NotFound,
      ...ADMIN_FAILURES,
    },
  }),
}
