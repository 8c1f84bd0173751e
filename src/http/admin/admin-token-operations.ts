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
      \`expiresAt\` it expires \`admin.tokenDefaultTtlDays\` (90) days after it is made; an
      \`expiresAt\` more than \`admin.tokenMaxTtlDays\` (365) days ahead is refused (400). Recorded on
      the audit log as \`admin-token.create\`.

      A token can make tokens with at most its own roles (403 \`roles_beyond_own\` otherwise). With a
      \`scope\` the token acts for a team: it holds only \`grants:read\`, \`grants:write\`,
      \`revocations:read\`, \`revocations:write\`, \`ledger:read\` and \`admin-tokens:write\` (400
      otherwise). A token that has a scope itself makes only tokens with a scope within its own:
      owners among its own, each prefix under one of its own (403 \`scope_beyond_own\` otherwise).
    `,
    requestBody: {
      mediaType: 'application/json',
      schema: AdminTokenInput,
      examples: {
        resourceServer: {
          summary: 'A resource server following revocations',
          value: { name: 'ledger-resource-server', roles: ['revocations:read'] },
        },
        team: {
          summary: 'A service team managing its own grants',
          value: {
            name: 'payments-team',
            roles: ['grants:read', 'grants:write', 'ledger:read', 'revocations:read', 'revocations:write'],
            scope: { owners: ['team-payments'], subjectPrefixes: ['spiffe://example.org/k8s/prod/ns/payments'] },
          },
        },
      },
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
      Every admin token ever made whose every role the caller holds and whose scope lies within the
      caller's, revoked and expired ones included, oldest first, without their secrets: a token does
      not see tokens more powerful than itself, nor another team's (the bootstrap token, with every
      role and no scope, sees all). The bootstrap token is not among them.
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
      token whose every role the caller holds (403 \`roles_beyond_own\` otherwise) and whose scope
      lies within the caller's (403 \`scope_beyond_own\`) can be revoked; the bootstrap token holds
      every role and no scope. Recorded on the audit log as \`admin-token.revoke\`.
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
