import { z } from 'zod'
import { INVENTORY_DAILY_RETENTION_DAYS } from '../../inventory/identity-inventory.js'
import { IdentityDetailJson, IdentityJson, IdentityListQuery, IdentityQuery } from '../../inventory/inventory-search.js'
import { prose } from '../../lib/prose.js'
import { operation } from '../openapi/operation.js'
import { problemResponse, ValidationProblem } from '../problem-responses.js'
import { ADMIN_FAILURES } from './admin-responses.js'

const IdentityPage = z
  .object({
    identities: z.array(IdentityJson),
    nextCursor: z.string().optional().describe('Present when there may be more; pass it as `cursor`. Absent on the last page.'),
  })
  .strict()
  .meta({ id: 'IdentityPage' })

const IdentityResponse = z.object({ identity: IdentityDetailJson }).strict().meta({ id: 'IdentityResponse' })

export const identityOperations = {
  list: operation({
    tags: ['identities'],
    operationId: 'listIdentities',
    summary: 'List the workload identities that got tokens',
    description: prose`
      The inventory: every identity issued a token since the inventory began (the upgrade that added
      it), with its attestor, its most recent sources, when it was first and last seen, and what it
      obtained (audiences and scopes, each with when it was first and last in a token) through which
      grant. Every parameter narrows the answer and all of them hold at once. Identities come in
      subject order (bytewise), one page at a time: while the answer has a \`nextCursor\`, pass it
      back as \`cursor\` with the same filters. Read from roll-ups that the ledger's writer keeps in
      the same transaction as the ledger: never from the ledger, and kept past its retention.
    `,
    parameters: { query: IdentityListQuery },
    responses: {
      200: {
        description: 'One page. Unknown query parameters are refused with 400.',
        content: { 'application/json': { schema: IdentityPage } },
      },
      400: ValidationProblem,
      ...ADMIN_FAILURES,
    },
  }),
  read: operation({
    tags: ['identities'],
    operationId: 'getIdentity',
    summary: 'Read one workload identity, with its daily token counts and delegations',
    description: prose`
      One identity by its exact SPIFFE ID, given as the \`subject\` query parameter (a SPIFFE ID
      holds slashes, which a path segment would have to escape and proxies may unescape): what
      \`GET /v1/identities\` shows of it, the tokens it got each UTC day, kept
      ${INVENTORY_DAILY_RETENTION_DAYS} days, who acted for it (\`delegations\`) and whom it acted
      for (\`actedFor\`), each with how many tokens and when first and last.
    `,
    parameters: { query: IdentityQuery },
    responses: {
      200: { description: 'The identity.', content: { 'application/json': { schema: IdentityResponse } } },
      400: ValidationProblem,
      404: problemResponse('No token was ever issued to this identity (since the inventory began).', {
        type: 'about:blank',
        title: 'Not found',
        status: 404,
        detail: 'no token was issued to spiffe://example.org/k8s/prod/ns/payments/sa/api',
        instance: '/v1/identity',
        reason: 'identity_not_found',
      }),
      ...ADMIN_FAILURES,
    },
  }),
}
