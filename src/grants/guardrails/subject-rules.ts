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

export const subjectSpansAttestorKind: GuardrailRule = {
  name: 'subject-spans-attestor-kind',
  field: 'subject',
  check(grant, { landscape }) {
    return spannedReason(grant.subject, spannedGroups(grant.subject, landscape.attestors).kinds)
  },
}

/** One whole configured attestor (a cluster, an AWS attestor...): broad, but one a platform team may mean. */
export const subjectSpansAttestor: GuardrailRule = {
  name: 'subject-spans-attestor',
  field: 'subject',
  check(grant, { landscape }) {
    return spannedReason(grant.subject, spannedGroups(grant.subject, landscape.attestors).attestors)
  },
}

function spannedGroups(subject: string, groups: readonly IdentityGroup[]): { kinds: IdentityGroup[]; attestors: IdentityGroup[] } {
  const kinds = groups.filter((group) => group.wholeKind && group.forms.some((form) => spans(subject, form)))
  // One attestor of a kind already spanned whole says nothing more.
  const attestors = groups.filter(
    (group) => !group.wholeKind && !kinds.some((kind) => kind.kind === group.kind) && group.forms.some((form) => spans(subject, form)),
  )
  return { kinds, attestors }
}

function spannedReason(subject: string, spanned: readonly IdentityGroup[]): string | undefined {
  if (spanned.length === 0) return undefined
  const what = spanned.map((group) => `${group.label} (${group.forms.join(', ')})`).join('; ')
  return `${subject} matches every identity of ${what}, whatever their names: name the workloads (a namespace and service account, a repository, an account)`
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
