import { ConfigError, type AttestorConfig } from '../config.js'
import { InvalidGrantError } from '../errors.js'
import type { AttestedIdentity, JwtAttestor } from './attestor.js'
import { parseUntrustedJwt, untrustedIssuerOf } from './jwt-verifier.js'
import { createKubernetesAttestor, type KubernetesAttestorDeps } from './kubernetes.js'
import { quoteUntrusted } from './untrusted.js'

/**
 * The configured attestors, and the one place that knows which kinds exist. A new kind (GCP, AWS,
 * Azure, GitHub, generic OIDC) is one file exporting a factory plus one line in CATALOG.
 */

/** What every attestor may need from the composition root; each kind takes the part it uses. */
export type AttestorDeps = KubernetesAttestorDeps

type AttestorKind = AttestorConfig['kind']
type AttestorFactory<K extends AttestorKind> = (config: Extract<AttestorConfig, { kind: K }>, deps: AttestorDeps) => JwtAttestor

const CATALOG: { readonly [K in AttestorKind]: AttestorFactory<K> } = {
  kubernetes: createKubernetesAttestor,
}

export interface AttestorSummary {
  name: string
  kind: string
  issuer: string
}

export interface AttestorRegistry {
  /** Verifies a subject token with the attestor configured for its issuer. */
  attest(subjectToken: string): Promise<AttestedIdentity>
  /** The configured attestors, for the start-up log line. */
  list(): AttestorSummary[]
}

/**
 * @example
 * const attestors = createAttestorRegistry(config.attestors, { trustDomain: config.trustDomain,
 *   audience: config.audience, clock: systemClock, skewSeconds: config.clockSkewSeconds,
 *   maxAttestationBytes: config.limits.maxAttestationBytes, fetchJwks: createHttpJwksFetcher(5000) })
 * const identity = await attestors.attest(subjectToken)
 */
export function createAttestorRegistry(configs: readonly AttestorConfig[], deps: AttestorDeps): AttestorRegistry {
  const byIssuer = new Map<string, JwtAttestor>()
  for (const config of configs) {
    // Safe: CATALOG's type pairs each kind with the factory for that kind's configuration.
    const create = CATALOG[config.kind] as (config: AttestorConfig, deps: AttestorDeps) => JwtAttestor
    const attestor = create(config, deps)
    const taken = byIssuer.get(attestor.issuer)
    if (taken !== undefined) {
      throw new ConfigError([`attestor ${attestor.name}: issuer ${JSON.stringify(attestor.issuer)} is already used by attestor ${taken.name}`])
    }
    byIssuer.set(attestor.issuer, attestor)
  }
  return {
    async attest(subjectToken) {
      // Untrusted: the unverified `iss` only picks which attestor verifies the token, with its own keys.
      const jwt = parseUntrustedJwt(subjectToken, deps.maxAttestationBytes)
      const issuer = untrustedIssuerOf(jwt)
      const attestor = byIssuer.get(issuer)
      if (attestor === undefined) throw new InvalidGrantError(`no attestor is configured for issuer ${quoteUntrusted(issuer, 100)}`)
      return attestor.attestJwt(jwt)
    },
    list() {
      return [...byIssuer.values()].map(({ name, kind, issuer }) => ({ name, kind, issuer }))
    },
  }
}
