import type { AttestedIdentity } from '../attestors/attestor.js'
import { fingerprintOf } from '../attestors/single-use.js'
import { InvalidGrantError } from '../errors.js'
import type { VerifiedAccessToken } from '../tokens/introspection.js'

/**
 * What a party to an exchange presented (its `subject_token` or `actor_token`): an attestation its
 * attestor verified, or one of our own access tokens, active, as we issued it.
 */
export type Presented =
  | { kind: 'attestation'; identity: AttestedIdentity; fingerprint: string }
  | { kind: 'access_token'; token: VerifiedAccessToken; fingerprint: string }

/** Our own access tokens, verified as introspection does (src/tokens/introspection.ts). */
export interface OurTokens {
  /** Undefined for anything but one of our tokens as we issued it, unexpired and not revoked. */
  verifyActive(token: string): Promise<VerifiedAccessToken | undefined>
}

export function attested(identity: AttestedIdentity, attestation: string): Presented {
  // The attestation is never stored; its hash ties ledger rows to it when the attestor gives no
  // fingerprint of what was signed.
  return { kind: 'attestation', identity, fingerprint: identity.fingerprint ?? fingerprintOf(attestation) }
}

export async function presentedAccessToken(
  tokens: OurTokens,
  token: string,
  parameter: 'subject_token' | 'actor_token',
): Promise<Presented> {
  const verified = await tokens.verifyActive(token)
  if (!verified) {
    throw new InvalidGrantError(
      `${parameter} is not an active access token of this service (malformed, another issuer's, expired or revoked)`,
      'token_inactive',
    )
  }
  return { kind: 'access_token', token: verified, fingerprint: fingerprintOf(token) }
}

/** Whose it is: the attested identity, or the subject of the token. */
export function subjectOf(presented: Presented): string {
  return presented.kind === 'attestation' ? presented.identity.subject : presented.token.entry.subject
}

/** The attestation sources behind it: a token's are those of the attestation it came from, as its ledger entry has them. */
export function sourcesOf(presented: Presented): string[] {
  return presented.kind === 'attestation' ? presented.identity.sources.map((source) => source.id) : presented.token.entry.sources
}

/** Which attestor vouched for it, and its kind: for a token, the one that vouched for the attestation it came from. */
export function attestorOf(presented: Presented): { attestor: string; kind: string } {
  return presented.kind === 'attestation'
    ? { attestor: presented.identity.attestor, kind: presented.identity.kind }
    : { attestor: presented.token.entry.attestor, kind: presented.token.entry.attestorKind }
}

/** Where the actors already acting for it run (a delegated token's `actorSources`). */
export function actorSourcesOf(presented: Presented): string[] {
  return presented.kind === 'attestation' ? [] : (presented.token.entry.actorSources ?? [])
}

/** The grants of the actors' tokens already behind it (a delegated token's `actorGrantIds`). */
export function actorGrantIdsOf(presented: Presented): string[] {
  return presented.kind === 'attestation' ? [] : (presented.token.entry.actorGrantIds ?? [])
}

/** The grants a presented token came from: what an actor token of ours adds to `actorGrantIds`. */
export function grantIdsOf(presented: Presented | undefined): string[] {
  return presented?.kind === 'access_token' ? presented.token.entry.grantIds : []
}

/**
 * Whose budget of token requests a request spends (`limits.tokenRequestsPerIdentityPerMinute`): the
 * party making it. The actor when one acts, so an agent pays for what it asks on anyone's behalf;
 * the attested workload; and for one of our tokens presented alone, a budget of that token's own:
 * whoever holds it may be somebody it was shown to, who must not spend its subject's budget.
 */
export function requesterOf(subject: Presented, actor: Presented | undefined): string {
  if (actor !== undefined) return subjectOf(actor)
  return subject.kind === 'attestation' ? subject.identity.subject : `token:${subject.token.entry.jti}`
}

/** The actors already acting for it (a delegated token's chain, the current actor first). */
export function actorsOf(presented: Presented): string[] {
  return presented.kind === 'attestation' ? [] : (presented.token.entry.actors ?? [])
}

/** The key a presented token is bound to (RFC 9449 `cnf.jkt`), if any: proofs must be made with it. */
export function boundKeyOf(presented: Presented | undefined): string | undefined {
  return presented?.kind === 'access_token' ? presented.token.confirmation?.jkt : undefined
}
