import { z } from 'zod'
import { prose } from '../../lib/prose.js'
import { operation } from '../openapi/operation.js'
import { PayloadTooLarge, UnsupportedMediaType, ValidationProblem } from '../problem-responses.js'
import { ADMIN_FAILURES } from './admin-responses.js'

/** The verification of the ledger's hash chains (README, "Tamper evidence"): POST /v1/ledger:verify. */

const Instant = z.iso.datetime({ offset: true })
const HEAD = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:[1-9][0-9]{0,15}:[0-9a-f]{64}$/

export const LedgerVerifyRequest = z
  .object({
    since: Instant.optional().describe('Only batches and rows issued at or after this instant (RFC 3339).'),
    until: Instant.optional().describe('Only batches and rows issued before this instant (RFC 3339); must be after `since`.'),
    heads: z.array(z.string().regex(HEAD, 'a chain head as chain:seq:hash (the anchor log line, metric or webhook)')).max(1000).optional()
      .describe(prose`
        Chain heads anchored outside the database, each \`chain:seq:hash\` as the anchor's log line
        (\`head\`), its webhook or the \`sts_ledger_chain_head_info\` metric gave it: each must still
        be in the database with that hash. Without them, a deletion of a chain's last batches cannot be seen.
      `),
  })
  .strict()
  .refine((q) => q.since === undefined || q.until === undefined || Date.parse(q.until) > Date.parse(q.since), {
    path: ['until'],
    message: 'must be after since',
  })
  .meta({ id: 'LedgerVerifyRequest' })

const Finding = z
  .object({
    kind: z.enum([
      'row-changed',
      'row-deleted',
      'row-inserted',
      'batch-changed',
      'batch-unlinked',
      'batches-deleted',
      'chain-truncated',
      'head-mismatch',
    ]).describe(prose`
        \`row-changed\`: the row is not what its batch hashed. \`row-deleted\`: its batch holds it, the
        ledger does not, and retention dropped no partition of its batch's period. \`row-inserted\`: no
        batch holds it (or it repeats a jti its batch already matched), issued after the upgrade's day of
        rolling restart. \`batch-changed\`: the batch's columns are not what its hash says.
        \`batch-unlinked\`: its previous hash is not the hash of the batch before it. \`batches-deleted\`:
        batches missing from a chain (retention never removes one). \`chain-truncated\`: an anchored head
        is newer than what the database holds of its chain. \`head-mismatch\`: the anchored batch is there
        with another hash (the chain was rewritten).
      `),
    chainId: z.uuid().optional(),
    seq: z.number().int().optional(),
    jti: z.uuid().optional(),
    issuedAt: z.string().optional().describe('A row no batch holds: when it says it was issued (microseconds).'),
    fromSeq: z.number().int().optional(),
    toSeq: z.number().int().optional(),
    heldSeq: z.number().int().nullable().optional().describe('The newest seq the database holds of the chain; null: none.'),
    anchoredSeq: z.number().int().optional(),
  })
  .strict()
  .meta({ id: 'LedgerFinding' })

const LedgerVerification = z
  .object({
    intact: z.boolean().describe('No finding: nothing was changed, added or removed outside the service.'),
    range: z.object({ since: z.string().nullable(), until: z.string().nullable() }).strict(),
    checked: z.object({ chains: z.number().int(), batches: z.number().int(), rows: z.number().int() }).strict(),
    findings: z.array(Finding).describe('At most 1000; `findingCount` says how many there were.'),
    findingCount: z.number().int(),
    retention: z
      .object({
        drops: z.array(
          z
            .object({
              partition: z.string(),
              from: z.string(),
              to: z.string(),
              droppedAt: z.string(),
              batches: z.number().int(),
              batchRows: z.number().int(),
            })
            .strict(),
        ),
        batches: z.number().int().describe('Batches of the range whose rows retention dropped, in whole or in part.'),
        rows: z.number().int().describe('Their rows that retention dropped.'),
      })
      .strict()
      .describe('What ledger retention removed, as it recorded it: not tampering.'),
    unchained: z
      .object({ rows: z.number().int(), chainedSince: z.string().nullable(), chainedUntil: z.string().nullable() })
      .strict()
      .describe('Rows no batch holds written by replicas of the previous release during the upgrade (before `chainedUntil`).'),
  })
  .strict()
  .meta({ id: 'LedgerVerification' })

export const verifyLedgerOperation = operation({
  tags: ['ledger'],
  operationId: 'verifyLedger',
  summary: "Verify the ledger's hash chains",
  description: prose`
    Walks every hash chain of the ledger (README, "Tamper evidence"): recomputes each batch's hash
    from its columns and each row's from the row, checks each batch's link to the one before it, and
    reports every row changed, inserted or deleted outside the service, every batch changed or
    missing, and with \`heads\` every chain cut short since it was anchored. Partitions dropped by
    retention are reported under \`retention\`, not as findings. Reads only; \`since\` and \`until\`
    bound the work (a whole ledger is read a page at a time, and may take a while). Needs
    \`ledger:read\` and an admin token without a team scope (the walk covers every identity).
  `,
  requestBody: {
    mediaType: 'application/json',
    schema: LedgerVerifyRequest,
    examples: {
      lastDay: {
        summary: 'The last day, against a head from the anchor log',
        value: {
          since: '2026-11-29T00:00:00Z',
          heads: ['0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b:4211:9f2c0d6f4b1e8a7c3d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4'],
        },
      },
    },
  },
  responses: {
    200: {
      description: 'What the walk found.',
      content: {
        'application/json': {
          schema: LedgerVerification,
          example: {
            intact: false,
            range: { since: '2026-11-29T00:00:00.000Z', until: null },
            checked: { chains: 3, batches: 5120, rows: 80211 },
            findings: [
              {
                kind: 'row-changed',
                chainId: '0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b',
                seq: 4102,
                jti: '0193a1b3-0000-7000-8000-00000000002a',
              },
            ],
            findingCount: 1,
            retention: { drops: [], batches: 0, rows: 0 },
            unchained: { rows: 0, chainedSince: '2026-10-01T09:00:00.000Z', chainedUntil: '2026-10-02T09:00:00.000Z' },
          },
        },
      },
    },
    400: ValidationProblem,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    ...ADMIN_FAILURES,
  },
})
