import { z } from 'zod'
import { LedgerEntryJson, LedgerSearchQuery } from '../../ledger/ledger-search.js'
import { prose } from '../../lib/prose.js'
import { operation } from '../openapi/operation.js'
import { problemResponse, ValidationProblem } from '../problem-responses.js'
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
      Who searched for what is on the service's request log. Retention drops whole days of the
      oldest entries (\`ledger.retentionDays\`): a cursor into them is answered 410.
    `,
    parameters: { query: LedgerSearchQuery },
    responses: {
      200: {
        description: 'One page. Unknown query parameters are refused with 400.',
        content: { 'application/json': { schema: LedgerPage } },
      },
      400: ValidationProblem,
      410: problemResponse(
        prose`
          The \`cursor\` points into entries that retention (\`ledger.retentionDays\`) has dropped since
          it was handed out: what came after it is gone, and paging on would skip it silently. List
          again from the first page, without a cursor.
        `,
        {
          type: 'about:blank',
          title: 'Gone',
          status: 410,
          detail:
            'the cursor points at 2026-08-30T09:12:44.000Z, and the ledger keeps nothing issued before 2026-08-31T00:00:00.000Z ' +
            '(ledger.retentionDays): list again from the first page, without a cursor',
          instance: '/v1/ledger',
          reason: 'ledger_cursor_expired',
        },
      ),
      ...ADMIN_FAILURES,
    },
  }),
}
