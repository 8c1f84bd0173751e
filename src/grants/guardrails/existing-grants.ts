import type { Grant } from '../grant.js'
import type { GrantStore } from '../grant-store.js'
import type { GuardrailFinding, Guardrails } from './guardrails.js'

/** A grant on record and the guardrails it breaks (denying and warning alike: it was written before them, or by hand). */
export interface GrantBreakingRules {
  grant: Grant
  findings: GuardrailFinding[]
}

/**
 * Every grant on record, enabled or not, that breaks a rule not `off`, in creation order: what the
 * least-privilege report lists. Expiry is measured from `now`, as a write at `now` would be.
 *
 * @example
 * for (const { grant, findings } of await grantsBreakingGuardrails(store, runtime.current().guardrails, now)) ...
 */
export async function grantsBreakingGuardrails(store: GrantStore, guardrails: Guardrails, now: Date): Promise<GrantBreakingRules[]> {
  const breaking: GrantBreakingRules[] = []
  let cursor: string | undefined
  do {
    const page = await store.list({ limit: 500, ...(cursor === undefined ? {} : { cursor }) })
    for (const grant of page.items) {
      const { denied, warnings } = guardrails.check(grant, now)
      if (denied.length + warnings.length > 0) breaking.push({ grant, findings: [...denied, ...warnings] })
    }
    cursor = page.nextCursor
  } while (cursor !== undefined)
  return breaking
}
