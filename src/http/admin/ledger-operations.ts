import { z } from 'zod'
import { LedgerEntryJson, LedgerSearchQuery } from '../../ledger/ledger-search.js'
import { prose } from '../../lib/prose.js'
import { operation } from '../openapi/operation.js'
import { ValidationProblem } from '../problem-responses.js'
import { ADMIN_FAILURES } from './admin-responses.js'

const LedgerPage = z
  .object({
    entries: z.array(LedgerEntryJson),
    nextCursor: z.string().optional().describe('Present when there may be more; pass it as `cursor`. Absent on the last page.'),
  })
  .strict()
  .meta({ id: 'LedgerPage' })

export const ledgerOperations = {
  search: operation({
    tags: ['ledger'],
    operationId: 'searchLedger',
    summary: 'Search the token ledger',
    description: prose`
      The incident view: which identity got which token, when, for which audience, from which
      attestation and through which grants. Every parameter narrows the answer and all of them
      hold at once. Entries come newest first (\`issuedAt\`, then \`jti\`, descending), one page at a
      time: while the answer has a \`nextCursor\`, pass it back as \`cursor\` with the same filters.
      Who searched for what is on the service's request log.
    `,
    parameters: { query: LedgerSearchQuery },
    responses: {
      200: {
        description: 'One page. Unknown query parameters are refused with 400.',
        content: { 'application/json': { schema: LedgerPage } },
      },
      400: ValidationProblem,
      ...ADMIN_FAILURES,
    },
  }),
}
