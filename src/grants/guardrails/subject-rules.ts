import { isGlob } from '../../lib/glob.js'
import { canReach, spans } from './glob-reach.js'
import type { IdentityGroup, IdentityLandscape } from './identity-forms.js'
import type { GuardrailRule } from './rule.js'

/**
 * The rules about whom a grant is for: its subject glob, and on a shared issuer its conditions; and
 * about who may act for them: its `mayAct` globs, held to the same measure of breadth.
 */

const NAME_THE_WORKLOADS = 'name the workloads (a namespace and service account, a repository, an account)'

export const subjectSpansTrustDomain: GuardrailRule = {
  name: 'subject-spans-trust-domain',
  field: 'subject',
  check(grant, { landscape }) {
    const span = trustDomainSpan(grant.subject, landscape)
    return span && `${span}: name the workloads`
  },
}

export const subjectSpansAttestorKind: GuardrailRule = {
  name: 'subject-spans-attestor-kind',
  field: 'subject',
  check(grant, { landscape }) {
    const span = groupsSpan(grant.subject, spannedGroups(grant.subject, landscape.attestors).kinds)
    return span && `${span}: ${NAME_THE_WORKLOADS}`
  },
}

/** One whole configured attestor (a cluster, an AWS attestor...): broad, but one a platform team may mean. */
export const subjectSpansAttestor: GuardrailRule = {
  name: 'subject-spans-attestor',
  field: 'subject',
  check(grant, { landscape }) {
    const span = groupsSpan(grant.subject, spannedGroups(grant.subject, landscape.attestors).attestors)
    return span && `${span}: ${NAME_THE_WORKLOADS}`
  },
}

/**
 * A `mayAct` glob as broad as the subject rules above refuse or warn of (the trust domain, a whole
 * attestor kind, one whole attestor): every workload it matches may act for the grant's subjects.
 * Only warned of by default: a platform's gateway may mean a cluster, and a delegated token still
 * carries no more than the grant gives.
 */
export const mayActSpans: GuardrailRule = {
  name: 'may-act-spans',
  field: 'mayAct',
  check(grant, { landscape }) {
    const spanned = grant.mayAct.flatMap((glob) => trustDomainSpan(glob, landscape) ?? groupsSpan(glob, allSpanned(glob, landscape)) ?? [])
    if (spanned.length === 0) return undefined
    return `${spanned.join('; ')}: each of them may act for the grant's subjects; name the workloads that may act`
  },
}

/** Whether the glob matches every identity of the trust domain, said; undefined when it does not. */
function trustDomainSpan(glob: string, landscape: IdentityLandscape): string | undefined {
  if (!landscape.anywhere.some((form) => spans(glob, form))) return undefined
  return `${glob} matches every identity of the trust domain ${landscape.trustDomain}, whatever attestor minted it`
}

function spannedGroups(subject: string, groups: readonly IdentityGroup[]): { kinds: IdentityGroup[]; attestors: IdentityGroup[] } {
  const kinds = groups.filter((group) => group.wholeKind && group.forms.some((form) => spans(subject, form)))
  // One attestor of a kind already spanned whole says nothing more.
  const attestors = groups.filter(
    (group) => !group.wholeKind && !kinds.some((kind) => kind.kind === group.kind) && group.forms.some((form) => spans(subject, form)),
  )
  return { kinds, attestors }
}

/** The whole attestor kinds and the whole attestors the glob spans. */
function allSpanned(glob: string, landscape: IdentityLandscape): IdentityGroup[] {
  const { kinds, attestors } = spannedGroups(glob, landscape.attestors)
  return [...kinds, ...attestors]
}

function groupsSpan(glob: string, spanned: readonly IdentityGroup[]): string | undefined {
  if (spanned.length === 0) return undefined
  const what = spanned.map((group) => `${group.label} (${group.forms.join(', ')})`).join('; ')
  return `${glob} matches every identity of ${what}, whatever their names`
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
