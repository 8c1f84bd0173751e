import type { AttestedIdentity } from './attestor.js'

/**
 * Where each configured attestor's identities and source ids live. Every attestor mints SPIFFE IDs
 * under fixed path segments of its own (`spiffe://<trustDomain>/<identity>/...`) and source ids under
 * fixed `:`-segments of its own (`<source>:...`), and no two attestors' namespaces may be equal or
 * one begin the other. So no issuer can speak for another attestor's identities, or be revoked by
 * another's sources, whatever its tokens say and without reading templates: the namespaces are
 * compared as text at start, and every identity minted is checked to lie in its attestor's namespace.
 * Each kind says where its attestors' namespaces are (its kind.ts); catalog.ts's namespaceOf asks it.
 */
export interface AttestorNamespace {
  /** Whole leading path segments of every SPIFFE ID path it mints: `k8s/prod`, `github`, `ci/gitlab`. */
  identity: string
  /** Whole leading `:`-segments of every source id it gives: `k8s:prod`, `github`, `oidc:gitlab`. */
  source: string
}

/**
 * First path segments that kinds fix for their identities (each kind's `identityRoot`): no attestor
 * whose namespace the configuration chooses (an OIDC template, a GitHub Enterprise name) may begin
 * with one, even when no attestor of that kind is configured yet. The catalog's test holds this list
 * to the kinds' own.
 */
export const RESERVED_FIRST_SEGMENTS = ['k8s', 'gcp', 'github', 'aws', 'azure'] as const

/**
 * Every pair of attestors whose namespaces overlap (equal, or one a whole-segment prefix of the
 * other), said so that an operator knows which two and what to change.
 */
export function namespaceOverlaps(
  attestors: readonly { name: string; namespace: AttestorNamespace }[],
): { index: number; problem: string }[] {
  const found: { index: number; problem: string }[] = []
  attestors.forEach((b, index) => {
    for (const a of attestors.slice(0, index)) {
      if (overlaps(a.namespace.identity, b.namespace.identity, '/')) {
        found.push({
          index,
          problem:
            `attestors "${a.name}" and "${b.name}" would mint identities in one namespace ("${a.namespace.identity}/..." and "${b.namespace.identity}/..."): ` +
            "each attestor's identities must begin with path segments of its own that neither equal nor begin another's",
        })
      }
      if (overlaps(a.namespace.source, b.namespace.source, ':')) {
        found.push({
          index,
          problem:
            `attestors "${a.name}" and "${b.name}" would give source ids in one namespace ("${a.namespace.source}:..." and "${b.namespace.source}:..."): ` +
            "each attestor's source ids must begin with text of its own that neither equals nor begins another's",
        })
      }
    }
  })
  return found
}

/** Whether an identity the attestor minted lies in its namespace (a guard: a miss is a bug, not a bad token). */
export function isInNamespace(identity: AttestedIdentity, namespace: AttestorNamespace, trustDomain: string): boolean {
  return (
    within(identity.subject, `spiffe://${trustDomain}/${namespace.identity}`, '/') &&
    identity.sources.every((source) => within(source.id, namespace.source, ':'))
  )
}

function overlaps(a: string, b: string, separator: string): boolean {
  return within(a, b, separator) || within(b, a, separator)
}

function within(value: string, prefix: string, separator: string): boolean {
  return value === prefix || value.startsWith(prefix + separator)
}
