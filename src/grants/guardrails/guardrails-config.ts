import { z } from 'zod'
import { MAX_TOKEN_LIFETIME_SECONDS } from '../../lib/token-lifetime.js'

/**
 * `grants.guardrails` in the configuration: what each rule does to a grant that breaks it, and the
 * limits the rules compare with. README.md, "Guardrails", says what each rule checks.
 */

/** The rules by their stable names: what a 400, a warning and the configuration call them. */
export const GUARDRAIL_RULES = [
  'subject-spans-trust-domain',
  'subject-spans-attestor-kind',
  'subject-spans-attestor',
  'shared-issuer-unpinned',
  'ttl-above-ceiling',
  'audience-not-allowed',
  'expiry-too-far',
  'description-missing',
  'may-act-spans',
] as const
export type GuardrailRuleName = (typeof GUARDRAIL_RULES)[number]

/** `deny`: the write is refused (400); `warn`: it is made, and the answer says why it should not have been; `off`: not checked. */
export const GuardrailAction = z.enum(['deny', 'warn', 'off'])
export type GuardrailAction = z.infer<typeof GuardrailAction>

/** Deny the mistakes that hand a grant to strangers; warn about the rest. */
export const DEFAULT_GUARDRAIL_ACTIONS: Readonly<Record<GuardrailRuleName, GuardrailAction>> = {
  'subject-spans-trust-domain': 'deny',
  'subject-spans-attestor-kind': 'deny',
  'subject-spans-attestor': 'warn',
  'shared-issuer-unpinned': 'deny',
  'ttl-above-ceiling': 'warn',
  'audience-not-allowed': 'warn',
  'expiry-too-far': 'warn',
  'description-missing': 'warn',
  'may-act-spans': 'warn',
}

const actionOf = (rule: GuardrailRuleName) => GuardrailAction.default(DEFAULT_GUARDRAIL_ACTIONS[rule])
const Rules = z
  .object({
    'subject-spans-trust-domain': actionOf('subject-spans-trust-domain'),
    'subject-spans-attestor-kind': actionOf('subject-spans-attestor-kind'),
    'subject-spans-attestor': actionOf('subject-spans-attestor'),
    'shared-issuer-unpinned': actionOf('shared-issuer-unpinned'),
    'ttl-above-ceiling': actionOf('ttl-above-ceiling'),
    'audience-not-allowed': actionOf('audience-not-allowed'),
    'expiry-too-far': actionOf('expiry-too-far'),
    'description-missing': actionOf('description-missing'),
    'may-act-spans': actionOf('may-act-spans'),
  } satisfies Record<GuardrailRuleName, unknown>)
  .strict()

export const GuardrailsConfig = z
  .object({
    /** Rule name -> `deny`, `warn` or `off`; a rule left out keeps its default. */
    rules: Rules.default(DEFAULT_GUARDRAIL_ACTIONS),
    /** `ttl-above-ceiling`: a grant's `maxTtlSeconds` above this. */
    maxTtlSeconds: z.number().int().positive().max(MAX_TOKEN_LIFETIME_SECONDS).default(3600),
    /**
     * `audience-not-allowed`: globs an audience must match one of (README "Grants" glob syntax: `*`
     * within a `/`-separated part, `**` across them). Empty: every audience is allowed.
     */
    allowedAudiences: z.array(z.string().min(1).max(512)).max(500).default([]),
    /** `expiry-too-far`: an `expiresAt` more than this many days after the write. */
    maxLifetimeDays: z.number().int().positive().default(365),
  })
  .strict()
  .default({ rules: DEFAULT_GUARDRAIL_ACTIONS, maxTtlSeconds: 3600, allowedAudiences: [], maxLifetimeDays: 365 })
export type GuardrailsConfig = z.infer<typeof GuardrailsConfig>
