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

/** The actors already acting for it (a delegated token's chain, the current actor first). */
export function actorsOf(presented: Presented): string[] {
  return presented.kind === 'attestation' ? [] : (presented.token.entry.actors ?? [])
}

/** The tokens whose revocation revokes what is exchanged from it: the token itself and its own ancestors. */
export function lineageOf(presented: Presented | undefined): string[] {
  if (presented?.kind !== 'access_token') return []
  return [presented.token.entry.jti, ...(presented.token.entry.ancestorJtis ?? [])]
}

/** The key a presented token is bound to (RFC 9449 `cnf.jkt`), if any: proofs must be made with it. */
export function boundKeyOf(presented: Presented | undefined): string | undefined {
  return presented?.kind === 'access_token' ? presented.token.confirmation?.jkt : undefined
}
