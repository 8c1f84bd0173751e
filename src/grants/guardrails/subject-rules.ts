import { isGlob } from '../../lib/glob.js'
import { canReach, spans } from './glob-reach.js'
import type { IdentityGroup } from './identity-forms.js'
import type { GuardrailRule } from './rule.js'

/** The rules about whom a grant is for: its subject glob, and on a shared issuer its conditions. */

export const subjectSpansTrustDomain: GuardrailRule = {
  name: 'subject-spans-trust-domain',
  field: 'subject',
  check(grant, { landscape }) {
    if (!landscape.anywhere.some((form) => spans(grant.subject, form))) return undefined
    return `${grant.subject} matches every identity of the trust domain ${landscape.trustDomain}, whatever attestor minted it: name the workloads`
  },
}

export const subjectSpansAttestor: GuardrailRule = {
  name: 'subject-spans-attestor',
  field: 'subject',
  check(grant, { landscape }) {
    const spanned: IdentityGroup[] = []
    for (const group of landscape.attestors) {
      // One attestor of a kind already spanned whole says nothing more.
      if (!group.wholeKind && spanned.some((other) => other.wholeKind && other.kind === group.kind)) continue
      if (group.forms.some((form) => spans(grant.subject, form))) spanned.push(group)
    }
    if (spanned.length === 0) return undefined
    const what = spanned.map((group) => `${group.label} (${group.forms.join(', ')})`).join('; ')
    return `${grant.subject} matches every identity of ${what}, whatever their names: name the workloads (a namespace and service account, a repository, an account)`
  },
}

export const sharedIssuerUnpinned: GuardrailRule = {
  name: 'shared-issuer-unpinned',
  field: 'conditions',
  check(grant, { landscape }) {
    const unpinned = landscape.sharedIssuers.filter(
      (issuer) =>
        issuer.forms.some((form) => canReach(grant.subject, form)) &&
        !issuer.immutableIdClaims.some((claim) => pinned(grant.conditions[claim])),
    )
    if (unpinned.length === 0) return undefined
    return unpinned
      .map(
        (issuer) =>
          `${grant.subject} can match identities of ${issuer.label}, an issuer many tenants share, and no condition pins ` +
          `${issuer.immutableIdClaims.join(' or ')} to exact values: a name deleted or renamed there can be registered again by someone else`,
      )
      .join('; ')
  },
}

/** A condition that only exact values (no glob) satisfy. */
function pinned(condition: string | string[] | undefined): boolean {
  if (condition === undefined) return false
  return (Array.isArray(condition) ? condition : [condition]).every((value) => !isGlob(value))
}
