import { z } from 'zod'
import { prose } from '../../lib/prose.js'
import { operation } from '../openapi/operation.js'
import { problemResponse, ValidationProblem } from '../problem-responses.js'
import { ADMIN_FAILURES } from './admin-responses.js'

const TARGET_TYPES = ['grant', 'revocation', 'admin-token', 'registration', 'config', 'signing-key'] as const

/** GET /v1/audit's query. */
export const AuditQuery = z
  .object({
    targetType: z.enum(TARGET_TYPES).optional().describe('Only changes to this kind of thing.'),
    targetId: z.string().min(1).max(128).optional().describe('Only changes to the thing with this id.'),
    actor: z
      .string()
      .min(1)
      .max(300)
      .optional()
      .describe(
        'Only changes made with the admin token of this name (`bootstrap` for the bootstrap token), by this person (`oidc:<name>`), ' +
          'or by the holder of a token revoked at `POST /oauth2/revoke` (`holder:<sub>`).',
      ),
    cursor: z
      .string()
      .regex(/^\d{1,18}$/, 'a cursor from an earlier answer')
      .optional()
      .describe('The `nextCursor` of the previous page.'),
    limit: z.coerce.number().int().min(1).max(500).default(100).describe('Page size.'),
  })
  .strict()

const Position = z.string().regex(/^\d+$/)

const AuditEntry = z
  .object({
    id: Position,
    at: z.iso.datetime(),
    actor: z
      .string()
      .describe(
        'The name of the admin token used (`bootstrap` for the bootstrap token); `oidc:<name>` for a ' +
          'person signed in with the identity provider (`admin.oidc.nameClaim`); `seed-sts` for ' +
          'what the service did by itself (the registration tidy); `holder:<sub>` for a token revoked by ' +
          'its holder at `POST /oauth2/revoke`.',
      ),
    action: z.enum([
      'grant.create',
      'grant.replace',
      'grant.disable',
      'revocation.create',
      'revocation.lift',
      'admin-token.create',
      'admin-token.revoke',
      'registration.forget',
      'registration.tidy',
      'config.reload',
      'key.create',
      'key.import',
      'key.activate',
      'key.retire',
      'key.remove',
      'key.revoke',
    ]),
    targetType: z.enum(TARGET_TYPES),
    targetId: z
      .string()
      .describe(
        'The id of the grant, revocation or admin token; `<attestor>/<instance>` for a registration; the configuration file (or `environment`) for a reload; the kid of a signing key.',
      ),
    before: z
      .record(z.string(), z.unknown())
      .nullable()
      .describe('The target as it was (a `Grant`, `Revocation`, `AdminToken` or `SigningKey`); null when it was made.'),
    after: z
      .record(z.string(), z.unknown())
      .nullable()
      .describe(
        'The target as it became; for `config.reload`, what this instance decided (`outcome`, `changed`, `attestors`, `problems`).',
      ),
    requestId: z.string().nullable().describe('The `X-Request-Id` of the request that made the change.'),
  })
  .strict()
  .meta({ id: 'AuditEntry' })

const AuditPage = z
  .object({
    entries: z.array(AuditEntry),
    nextCursor: Position.optional().describe('Present when there may be more; pass it as `cursor`. Absent on the last page.'),
  })
  .strict()
  .meta({ id: 'AuditPage' })

export const auditOperations = {
  read: operation({
    tags: ['audit'],
    operationId: 'readAuditLog',
    summary: 'Read the audit log',
    description: prose`
      Every change made through the admin API, oldest first: who made it (the admin token's name),
      what (\`action\`), to what (\`targetType\`, \`targetId\`), the state before and after, and the
      request it came in. An entry is written in the same database transaction as its change, so
      there is no change without its entry. Changes that change nothing (disabling a disabled
      grant, revoking a target already revoked) write none. While the answer has a \`nextCursor\`,
      pass it back as \`cursor\` with the same filters.

      Entries are kept for \`audit.retentionDays\` (400 by default), then dropped a month at a time.
      A \`cursor\` from before what retention kept is answered 410 (\`audit_cursor_pruned\`), never
      with a page that silently skips what was dropped: list again without a cursor.
    `,
    parameters: { query: AuditQuery },
    responses: {
      200: {
        description: 'One page. Unknown query parameters are refused with 400.',
        content: { 'application/json': { schema: AuditPage } },
      },
      400: ValidationProblem,
      410: problemResponse('The cursor is older than what retention kept: list again without a cursor.', {
        type: 'about:blank',
        title: 'Gone',
        status: 410,
        detail:
          'the audit log no longer holds every entry after cursor 41: entries up to 1200 were removed by retention ' +
          '(audit.retentionDays); list again without a cursor',
        instance: '/v1/audit?cursor=41',
        reason: 'audit_cursor_pruned',
      }),
      ...ADMIN_FAILURES,
    },
  }),
}
