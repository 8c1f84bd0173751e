import type { UntrustedJwt } from '../jose/compact-jws.js'
import type { JwksFetcher } from '../jose/jwks-fetcher.js'
import type { Clock } from '../lib/clock.js'
import type { JwksObserver } from '../observability/observers.js'

/**
 * The whole attestor contract, SPIRE-style: take an attestation, prove it, say who presented it.
 * Attestors never mint tokens or touch our stores; outside calls (JWKS fetches) go through injected
 * fetchers so tests run with fixed keys and a fixed clock. Each kind of attestor describes itself to
 * the catalog in its folder's kind.ts (see attestor-kind.ts).
 */

/** A thing an incident responder can revoke as a whole: a cluster, a node, a pod, later an account. */
export interface AttestationSource {
  /** Stable, human-readable, e.g. `k8s:prod`, `k8s:prod:node:ip-10-0-0-1`, `k8s:prod:pod:<uid>`. */
  id: string
}

export interface AttestedIdentity {
  /** Canonical identity, a SPIFFE ID: `spiffe://<trustDomain>/k8s/<cluster>/ns/<ns>/sa/<sa>`. */
  subject: string
  /** The configured attestor's name (e.g. the cluster name) and kind. */
  attestor: string
  kind: string
  /** Normalized claims that grant conditions match on (flat, string-valued). */
  claims: Record<string, string>
  /** What the identity came from, outermost first; each can be revoked. */
  sources: AttestationSource[]
  /**
   * SHA-256 (base64url) of what the attestation's issuer signed (src/attestors/single-use.ts
   * fingerprintOf): the same for every spelling of one attestation, so ledger rows of one attestation
   * share it. Attestors that cannot say leave it out, and the exchange hashes the attestation's text.
   */
  fingerprint?: string
  /** When the attestation itself stops being valid, if it says. */
  expiresAt?: Date
  /**
   * Present when the attestation may be used once only: `key` names it (e.g. its issuer and `jti`),
   * and the claim on it is kept `until` the attestation could no longer be accepted anyway.
   */
  singleUse?: { key: string; until: Date }
  /**
   * Present for attestations that never expire (instance identity documents): the instance they name
   * must be registered, and may attest again only as `mode` allows (see src/replay/registration-store.ts).
   */
  registration?: { instance: string; nonce?: string; mode: 'nonce' | 'never' | 'always' }
  /** Present when the attestation may only be presented from this address (e.g. the instance's own IP). */
  boundAddress?: string
}

export interface Attestor {
  readonly name: string
  readonly kind: string
  /**
   * The `subject_token_type`s it takes, for attestations that are not JWTs (chosen by type, not by
   * issuer). JWT attestors leave it out.
   */
  readonly tokenTypes?: readonly string[]
  /**
   * Verifies an attestation and returns the identity it proves. Throws InvalidGrantError (with a
   * description safe to show the caller) for anything not acceptable, ServiceUnavailableError when an
   * outside dependency (a JWKS endpoint) cannot be reached and no cached key answers.
   */
  attest(attestation: string): Promise<AttestedIdentity>
  /** What an operator should hear at start-up (e.g. trust material that has expired), if anything. */
  startupWarnings?(): string[]
}

/** An attestor that accepts JWTs is chosen by the JWT's `iss`; the registry routes on this. */
export interface JwtAttestor extends Attestor {
  readonly issuer: string
  /** Every issuer it answers for, when more than `issuer` (Azure: two per tenant). */
  readonly issuers?: readonly string[]
  /** The same as `attest`, for a token the registry has already split and decoded (still untrusted). */
  attestJwt(jwt: UntrustedJwt): Promise<AttestedIdentity>
}

/** What an attestor may need from the composition root; each kind takes the part it uses. */
export interface AttestorDeps {
  trustDomain: string
  /** What tokens must be addressed to unless the attestor configures its own audience. */
  audience: string
  clock: Clock
  skewSeconds: number
  maxAttestationBytes: number
  fetchJwks: JwksFetcher
  /** Told of every JWKS fetch, per attestor (the metrics). */
  jwksObserver?: JwksObserver
}
