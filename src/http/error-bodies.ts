import { z } from 'zod'
import { ERROR_REASONS, type ErrorReason as Reason } from '../error-reasons.js'
import type { OAuthErrorCode } from './error-mapping.js'
import { prose } from '../lib/prose.js'
import type { Response } from './openapi/operation.js'

/**
 * The two error formats on the wire, as the error handler writes them and the API description
 * documents them: RFC 6749 JSON on the OAuth endpoints, RFC 9457 problems everywhere else.
 */

/** The OAuth `error` codes the endpoints answer with (the token endpoint's refusals, introspection's bearer errors). */
export const OAUTH_ERROR_CODES = [
  'invalid_request',
  'invalid_grant',
  'invalid_scope',
  'invalid_target',
  'unsupported_grant_type',
  'invalid_dpop_proof',
  'use_dpop_nonce',
  'temporarily_unavailable',
  'server_error',
  'invalid_token',
  'insufficient_scope',
] as const satisfies readonly OAuthErrorCode[]

export const ErrorReason = z.enum(Object.keys(ERROR_REASONS) as [Reason, ...Reason[]]).meta({
  id: 'ErrorReason',
  description: prose`
    Why a request was refused or failed, in a word a client can switch on: the same names in
    OAuth bodies (\`error_reason\`) and in problems (\`reason\`). A reason keeps its name and meaning
    once published; new reasons may be added, so handle an unknown one as its \`error\` or
    \`status\` says. README.md, "Error reasons", says what each one means.
  `,
})

export const OAuthErrorBody = z
  .object({
    error: z.enum(OAUTH_ERROR_CODES),
    error_description: z.string().describe('Human-readable and specific; safe to log. Do not parse it.'),
    error_reason: ErrorReason.describe('A Seed STS extension member (RFC 6749 section 5.2 allows them) that says which refusal this is.'),
  })
  .strict()
  .meta({
    id: 'TokenError',
    description:
      'RFC 6749 section 5.2 error response (with the RFC 6750 codes `invalid_token` and `insufficient_scope` from introspection).',
  })
export type OAuthErrorBody = z.infer<typeof OAuthErrorBody>

/** An OAuth error body whose `error` is one of `codes`: what one status of one endpoint answers. */
export function oauthErrorOf(...codes: [OAuthErrorCode, ...OAuthErrorCode[]]): z.ZodType {
  return z.intersection(OAuthErrorBody, z.object({ error: codes.length === 1 ? z.literal(codes[0]) : z.enum(codes) }))
}

export const InvalidRequestBody = oauthErrorOf('invalid_request').meta({ id: 'TokenErrorInvalidRequest' })
export const UnavailableBody = oauthErrorOf('temporarily_unavailable').meta({ id: 'TokenErrorUnavailable' })

const FieldErrorBody = z
  .object({
    path: z.string().describe('Dotted path of the field, such as `conditions.namespace`; `(body)` or `(query)` for the object itself.'),
    message: z.string(),
  })
  .strict()

/** A guardrail a grant breaks (README.md, "Guardrails"): in a 400's `violations`, or a written grant's `warnings`. */
export const RuleViolationBody = z
  .object({
    rule: z
      .string()
      .meta({ examples: ['subject-spans-trust-domain'] })
      .describe('The rule, by its stable name.'),
    field: z
      .string()
      .meta({ examples: ['subject'] })
      .describe('The field of the grant the rule is about.'),
    reason: z.string().describe('Why the grant breaks it, specifically.'),
  })
  .strict()
  .meta({ id: 'GuardrailViolation' })

export const ProblemBody = z
  .object({
    type: z.literal('about:blank'),
    title: z.string().meta({ examples: ['Invalid request'] }),
    status: z.number().int(),
    detail: z.string().describe('What went wrong, specifically.'),
    instance: z.string().describe('The request path.'),
    reason: ErrorReason.describe('An extension member (RFC 9457 section 3.2) that says which refusal or fault this is.'),
    errors: z.array(FieldErrorBody).optional().describe('On validation problems, every invalid field.'),
    violations: z
      .array(RuleViolationBody)
      .optional()
      .describe('With reason `grant_guardrail_denied`: every guardrail the grant breaks that is configured to deny it.'),
  })
  .strict()
  .meta({ id: 'Problem', description: 'RFC 9457 problem details.' })
export type ProblemBody = z.infer<typeof ProblemBody>

/** An RFC 6749 error answer as the API description shows it, with the headers it comes with. */
export function oauthErrorResponse(
  description: string,
  schema: z.ZodType,
  example: OAuthErrorBody,
  headers: Response['headers'],
): Response {
  return { description, headers, content: { 'application/json': { schema, example } } }
}
