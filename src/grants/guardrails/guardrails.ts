import type { AttestorConfig } from '../../attestors/catalog.js'
import type { GrantDraft } from '../grant-store.js'
import type { GuardrailRuleName, GuardrailsConfig } from './guardrails-config.js'
import { identityLandscape, type IdentityLandscape } from './identity-forms.js'
import { audienceNotAllowed, descriptionMissing, expiryTooFar, ttlAboveCeiling } from './limit-rules.js'
import type { GuardrailRule } from './rule.js'
import {
  mayActSpans,
  sharedIssuerUnpinned,
  subjectSpansAttestor,
  subjectSpansAttestorKind,
  subjectSpansTrustDomain,
} from './subject-rules.js'

/** A rule a grant breaks: its name, the field it is about, and why. */
export interface GuardrailFinding {
  rule: GuardrailRuleName
  field: string
  reason: string
}

/** What the guardrails say of a grant: the rules that refuse it, and those that only warn. */
export interface GuardrailVerdict {
  denied: GuardrailFinding[]
  warnings: GuardrailFinding[]
}

/** In the order a reader of the grant meets the fields. */
const RULES: readonly GuardrailRule[] = [
  subjectSpansTrustDomain,
  subjectSpansAttestorKind,
  subjectSpansAttestor,
  sharedIssuerUnpinned,
  audienceNotAllowed,
  ttlAboveCeiling,
  descriptionMissing,
  expiryTooFar,
  mayActSpans,
]

/**
 * The rules every grant written through the admin API is held to (README.md, "Guardrails"), each
 * denying, warning or off as `grants.guardrails` says. Built from one configuration; a reload builds
 * another (src/reload/runtime-settings.ts).
 *
 * @example
 * const guardrails = Guardrails.of(config.grants.guardrails, config.trustDomain, config.attestors)
 * const { denied, warnings } = guardrails.check(draft, now)
 */
export class Guardrails {
  private constructor(
    private readonly config: GuardrailsConfig,
    private readonly landscape: IdentityLandscape,
  ) {}

  static of(config: GuardrailsConfig, trustDomain: string, attestors: readonly AttestorConfig[]): Guardrails {
    return new Guardrails(config, identityLandscape(trustDomain, attestors))
  }

  /** Every rule not `off`, at once. */
  check(grant: GrantDraft, now: Date): GuardrailVerdict {
    const verdict: GuardrailVerdict = { denied: [], warnings: [] }
    const context = { config: this.config, landscape: this.landscape, now }
    for (const rule of RULES) {
      const action = this.config.rules[rule.name]
      if (action === 'off') continue
      const reason = rule.check(grant, context)
      if (reason === undefined) continue
      ;(action === 'deny' ? verdict.denied : verdict.warnings).push({ rule: rule.name, field: rule.field, reason })
    }
    return verdict
  }
}
