import type { LedgerEntry } from '../ledger/ledger-store.js'
import type { RevocationTarget } from '../revocation/revocation.js'
import { actorGrantIdsOf, actorSourcesOf, grantIdsOf, sourcesOf, type Presented } from './presented.js'

/**
 * What a token carries of the parties and tokens it was exchanged from, so that revoking any of them
 * revokes it: at the token endpoint, at introspection (from its ledger entry) and in verifiers that
 * decide offline (from its claims). A token from an attestation, with nobody acting, has none of it.
 */
export interface Lineage {
  /** The delegation chain, the current actor first. */
  actors: readonly string[]
  /** Every token of ours it derives from: the subject token and its ancestors, the actor token and its. */
  ancestorJtis: readonly string[]
  /** The subject's attestation sources. */
  sources: readonly string[]
  /** Where the actors run, those not among the subject's own. */
  actorSources: readonly string[]
  /** The grants of the actors' own tokens, those not among the subject's. */
  actorGrantIds: readonly string[]
}

export function lineageFor(
  subject: Presented,
  actor: Presented | undefined,
  actors: readonly string[],
  grantIds: readonly string[],
): Lineage {
  const sources = sourcesOf(subject)
  return {
    actors,
    ancestorJtis: unique([...jtisOf(subject), ...jtisOf(actor)]),
    sources,
    actorSources: unique([...actorSourcesOf(subject), ...(actor ? sourcesOf(actor) : [])]).filter((source) => !sources.includes(source)),
    actorGrantIds: unique([...actorGrantIdsOf(subject), ...grantIdsOf(actor)]).filter((id) => !grantIds.includes(id)),
  }
}

/** The ledger entry's fields for it, each left out when empty. */
export function lineageFields(subject: Presented, lineage: Lineage): Partial<LedgerEntry> {
  return {
    ...(subject.kind === 'access_token' ? { parentJti: subject.token.entry.jti } : {}),
    ...(lineage.ancestorJtis.length > 0 ? { ancestorJtis: [...lineage.ancestorJtis] } : {}),
    ...(lineage.actors.length > 0 ? { actors: [...lineage.actors] } : {}),
    ...(lineage.actorSources.length > 0 ? { actorSources: [...lineage.actorSources] } : {}),
    ...(lineage.actorGrantIds.length > 0 ? { actorGrantIds: [...lineage.actorGrantIds] } : {}),
  }
}

/**
 * Everything that, revoked, refuses the token: the signing key, the subject and every actor in the
 * chain, the grants (the subject's and the actor tokens'), the sources (the subject's and the
 * actors'), and every token it derives from.
 */
export function revocationTargetsFor(subject: string, grantIds: readonly string[], lineage: Lineage, kid: string): RevocationTarget[] {
  return [
    { kind: 'key', value: kid },
    { kind: 'subject', value: subject },
    ...lineage.actors.map((value): RevocationTarget => ({ kind: 'subject', value })),
    ...lineage.ancestorJtis.map((value): RevocationTarget => ({ kind: 'token', value })),
    ...[...grantIds, ...lineage.actorGrantIds].map((value): RevocationTarget => ({ kind: 'grant', value })),
    ...[...lineage.sources, ...lineage.actorSources].map((value): RevocationTarget => ({ kind: 'source', value })),
  ]
}

/** The tokens whose revocation revokes what is exchanged from it: the token itself and its own ancestors. */
function jtisOf(presented: Presented | undefined): string[] {
  if (presented?.kind !== 'access_token') return []
  return [presented.token.entry.jti, ...(presented.token.entry.ancestorJtis ?? [])]
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)]
}
