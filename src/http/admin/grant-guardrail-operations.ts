import { z } from 'zod'
import { GrantInput, GrantJson } from '../../grants/grant.js'
import { prose } from '../../lib/prose.js'
import { RuleViolationBody } from '../error-bodies.js'
import { operation } from '../openapi/operation.js'
import { PayloadTooLarge, UnsupportedMediaType, ValidationProblem } from '../problem-responses.js'
import { ADMIN_FAILURES } from './admin-responses.js'

/** What the grant guardrails add to the grants API (README.md, "Guardrails"): warnings on writes, and a dry run. */

/** A grant as a create or replace answers it: with the guardrails that warned, if any did. */
export const GrantWritten = GrantJson.extend({
  warnings: z.array(RuleViolationBody).optional().describe(prose`
    The guardrails the grant breaks that are configured to warn (\`grants.guardrails.rules\`): the
    write was made. Absent when none does.
  `),
})
  .strict()
  .meta({ id: 'GrantWritten', description: 'A grant as written, with the guardrails that warned about it.' })

const GrantValidation = z
  .object({
    allowed: z.boolean().describe('Whether `POST /v1/grants` would create it: no guardrail configured to deny it is broken.'),
    denied: z.array(RuleViolationBody).describe('The guardrails that would refuse it (the 400 `violations`).'),
    warnings: z.array(RuleViolationBody).describe('The guardrails that would warn (the `warnings` of the answer).'),
  })
  .strict()
  .meta({ id: 'GrantValidation' })

export const validateGrantOperation = operation({
  tags: ['grants'],
  operationId: 'validateGrant',
  summary: 'Check a grant against the guardrails without saving it',
  description: prose`
    Runs the guardrails on a grant body as \`POST /v1/grants\` would, and answers what would happen:
    whether it would be created, the rules that would refuse it and those that would warn. Nothing is
    saved or audited. The body is a \`GrantInput\` with its defaults (an \`expiresAt\` left out is
    \`grants.defaultLifetimeDays\` ahead); a body that is not a valid grant is a 400, as on create.
    Needs \`grants:write\`, as creating does.
  `,
  requestBody: {
    mediaType: 'application/json',
    schema: GrantInput,
    examples: {
      wide: {
        summary: 'Every workload of the trust domain, with no description',
        value: { subject: 'spiffe://example.org/**', audiences: ['ledger-api'], owner: 'team-payments' },
      },
    },
  },
  responses: {
    200: {
      description: 'What creating it would do.',
      content: {
        'application/json': {
          schema: GrantValidation,
          example: {
            allowed: false,
            denied: [
              {
                rule: 'subject-spans-trust-domain',
                field: 'subject',
                reason:
                  'spiffe://example.org/** matches every identity of the trust domain example.org, whatever attestor minted it: name the workloads',
              },
            ],
            warnings: [
              {
                rule: 'description-missing',
                field: 'description',
                reason: 'no description: say why the grant exists, for the next person who reads it',
              },
            ],
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
