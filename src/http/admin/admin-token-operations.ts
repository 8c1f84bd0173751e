import { z } from 'zod'
import { AdminTokenInput, AdminTokenJson } from '../../admin-tokens/admin-token.js'
import { Uuid } from '../../lib/ids.js'
import { prose } from '../../lib/prose.js'
import { operation } from '../openapi/operation.js'
import { PayloadTooLarge, problemResponse, UnsupportedMediaType, ValidationProblem } from '../problem-responses.js'
import { CacheControlNoStore } from '../response-headers.js'
import { ADMIN_FAILURES } from './admin-responses.js'

/** The path of one admin token: its id, never the token. */
export const AdminTokenIdParams = z.object({
  id: Uuid.describe("The admin token's id (not the token). Anything that is not a UUID is refused with a 400."),
})

const AdminTokenCreated = z
  .object({
    adminToken: AdminTokenJson,
    token: z
      .string()
      .regex(/^sts_admin_[A-Za-z0-9_-]{43}$/)
      .describe('The secret, shown this once: send it as `Authorization: Bearer <token>`.'),
  })
  .strict()
  .meta({ id: 'AdminTokenCreated' })

const AdminTokenList = z
  .object({ adminTokens: z.array(AdminTokenJson) })
  .strict()
  .meta({ id: 'AdminTokenList' })

export const adminTokenOperations = {
  create: operation({
    tags: ['admin-tokens'],
    operationId: 'createAdminToken',
    summary: 'Make an admin token with some roles',
    description: prose`
      Makes a token with the roles given (duplicates dropped, sorted). The answer is the only place
      the token ever appears: only its SHA-256 is stored, and it is never logged. Keep it as a
      secret. Its \`name\` is what the audit log and 403 answers call it: it must never have been
      used by another token, revoked ones included (409), and \`bootstrap\`, \`seed-sts\` and \`unknown\`
      are reserved (400), so an entry of the audit log names one actor unforgeably. Without
      \`expiresAt\` it never expires. Recorded on the audit log as \`admin-token.create\`.

      A token can make tokens with at most its own roles (403 otherwise).
    `,
    requestBody: {
      mediaType: 'application/json',
      schema: AdminTokenInput,
      example: { name: 'ledger-resource-server', roles: ['revocations:read'] },
    },
    responses: {
      201: {
        description: 'Made. Never cache this response.',
        headers: { 'Cache-Control': CacheControlNoStore },
        content: { 'application/json': { schema: AdminTokenCreated } },
      },
      400: ValidationProblem,
      409: problemResponse('Another token has or had this name; names are never reused.', {
        type: 'about:blank',
        title: 'Conflict',
        status: 409,
        detail:
          'an admin token named ledger-resource-server exists or existed: a name is never reused, so ' + 'the audit log names one token',
        instance: '/v1/admin-tokens',
        reason: 'admin_token_name_taken',
      }),
      413: PayloadTooLarge,
      415: UnsupportedMediaType,
      ...ADMIN_FAILURES,
    },
  }),
  list: operation({
    tags: ['admin-tokens'],
    operationId: 'listAdminTokens',
    summary: 'List admin tokens',
    description: prose`
      Every admin token ever made whose every role the caller holds, revoked and expired ones
      included, oldest first, without their secrets: a token does not see tokens more powerful
      than itself (the bootstrap token, with every role, sees all). The bootstrap token is not
      among them.
    `,
    responses: {
      200: { description: 'All of them, in one answer.', content: { 'application/json': { schema: AdminTokenList } } },
      ...ADMIN_FAILURES,
    },
  }),
  revoke: operation({
    tags: ['admin-tokens'],
    operationId: 'revokeAdminToken',
    summary: 'Revoke an admin token',
    description: prose`
      The token stops working within 5 s on every instance (each instance trusts a token it has
      looked up for that long). Its name stays taken for good, and it stays on the list. Only a
      token whose every role the caller holds can be revoked (403 otherwise; the bootstrap token
      holds all). Recorded on the audit log as \`admin-token.revoke\`.
    `,
    parameters: { path: AdminTokenIdParams },
    responses: {
      200: {
        description: 'The token, revoked.',
        content: { 'application/json': { schema: z.object({ adminToken: AdminTokenJson }).strict() } },
      },
      400: ValidationProblem,
      404: problemResponse('No token that is not revoked yet has this id.'),
      ...ADMIN_FAILURES,
    },
  }),
}
