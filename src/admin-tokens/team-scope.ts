import { z } from 'zod'
import { canonicalGitHubSubject } from '../attestors/github/names.js'
import { prose } from '../lib/prose.js'

/**
 * A team's share of the admin API: the grant owners it answers for and the identities (SPIFFE ID
 * prefixes) it manages. An admin token with a scope acts on these only; a token without one is
 * unrestricted. The checks that use it are in src/http/admin/team-scope-checks.ts.
 */
export interface TeamScope {
  owners: readonly string[]
  subjectPrefixes: readonly string[]
}

// A SPIFFE ID without wildcards, empty segments or a trailing slash: a prefix is matched at a segment boundary.
const PREFIX = /^spiffe:\/\/[^/\s*?]+(\/[^/\s*?]+)*$/

export const TeamScopeInput = z
  .object({
    owners: z
      .array(z.string().trim().min(1).max(200))
      .min(1)
      .max(50)
      .describe('The grant owners the token answers for: it sees and changes only grants with one of these `owner`s.'),
    subjectPrefixes: z
      .array(
        z
          .string()
          .max(512)
          .regex(PREFIX, 'must be a SPIFFE ID without wildcards or a trailing slash, e.g. spiffe://example.org/k8s/prod/ns/payments')
          .transform(canonicalGitHubSubject),
      )
      .min(1)
      .max(50).describe(prose`
        The identities the token manages. A prefix covers itself and what lies below it at a path
        segment boundary: \`spiffe://example.org/k8s/prod/ns/pay\` covers \`…/ns/pay\` and
        \`…/ns/pay/sa/api\`, never \`…/ns/payments\`.
      `),
  })
  .strict()
  .meta({
    id: 'TeamScope',
    description: prose`
      A team's share of the admin API. Grants the token lists, makes, replaces and disables have
      one of its \`owners\` and a subject under one of its \`subjectPrefixes\`; the ledger and the
      revocations it sees and makes are of identities under them.
    `,
  })

/** Whether `subject` (a SPIFFE ID or a glob) can only ever name identities at or below `prefix`. */
export function subjectUnderPrefix(subject: string, prefix: string): boolean {
  // A prefix has no wildcards, so a subject that starts with `prefix/` has its literal part at least
  // that long: every ID it matches starts with `prefix/`. A glob whose literal part stops short of
  // the boundary (`…/ns/pay*`, `…/ns/**`) may match beyond it, and is not under it.
  return subject === prefix || subject.startsWith(`${prefix}/`)
}

/** Whether `subject` (an ID or a glob) lies under one of the scope's prefixes. */
export function coversSubject(scope: TeamScope, subject: string): boolean {
  return scope.subjectPrefixes.some((prefix) => subjectUnderPrefix(subject, prefix))
}

/** Whether the scope owns a grant: its owner is one of the scope's and its subject lies under a prefix. */
export function ownsGrant(scope: TeamScope, grant: { owner: string; subject: string }): boolean {
  return scope.owners.includes(grant.owner) && coversSubject(scope, grant.subject)
}

/** Whether `inner` is no wider than `outer`: what a scoped token may hand on, see and revoke. Unscoped is the widest. */
export function scopeWithin(inner: TeamScope | null, outer: TeamScope | null): boolean {
  if (outer === null) return true
  if (inner === null) return false
  return (
    inner.owners.every((owner) => outer.owners.includes(owner)) && inner.subjectPrefixes.every((prefix) => coversSubject(outer, prefix))
  )
}

/** A scope in one spelling: duplicates dropped, sorted, so stored scopes compare and read alike. */
export function normalScope(scope: TeamScope): TeamScope {
  return { owners: [...new Set(scope.owners)].sort(), subjectPrefixes: [...new Set(scope.subjectPrefixes)].sort() }
}
