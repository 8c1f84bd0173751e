import type { GrantDraft } from '../grant-store.js'
import type { GuardrailRuleName, GuardrailsConfig } from './guardrails-config.js'
import type { IdentityLandscape } from './identity-forms.js'

/** What a rule reads besides the grant: the limits configured, where identities can be, and the time of the write. */
export interface RuleContext {
  config: GuardrailsConfig
  landscape: IdentityLandscape
  now: Date
}

/**
 * One guardrail: its stable name, the grant field it is about (the problem's `errors` path), and the
 * check, which answers why the grant breaks it, or nothing.
 */
export interface GuardrailRule {
  name: GuardrailRuleName
  field: keyof GrantDraft
  check(grant: GrantDraft, context: RuleContext): string | undefined
}
