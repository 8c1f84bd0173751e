import { ConfigError } from '../config-error.js'
import { InvalidGrantError, InvalidRequestError } from '../errors.js'
import { parseUntrustedJwt, untrustedIssuerOf } from '../jose/compact-jws.js'
import { quoteUntrusted } from '../lib/untrusted-text.js'
import { JWT_TOKEN_TYPES } from '../oauth/token-types.js'
import type { AttestorRouting } from '../observability/exchange-observer.js'
import type { AttestedIdentity, Attestor, AttestorDeps, JwtAttestor } from './attestor.js'
import { kindOf, namespaceOf, type AttestorConfig } from './catalog.js'
import { isInNamespace, namespaceOverlaps, type AttestorNamespace } from './namespace.js'
import { jwsFingerprint } from './single-use.js'

/**
 * The configured attestors, each built by its kind (catalog.ts), and the routing of an attestation to
 * the one that verifies it: a JWT by its issuer, anything else by its token type.
 */

export interface AttestorSummary {
  name: string
  kind: string
  /** The issuer of a JWT attestor, or the token types of another. */
  accepts: string
}

export interface AttestorRegistry {
  /**
   * Verifies a subject token: a JWT with the attestor configured for its issuer, anything else with
   * the attestor configured for its token type.
   */
  attest(subjectToken: string, subjectTokenType: string, routing?: AttestorRouting): Promise<AttestedIdentity>
  /** The subject token types the configured attestors take, for discovery. */
  subjectTokenTypes(): string[]
  /** The configured attestors, for the start-up log line. */
  list(): AttestorSummary[]
  /** What the configured attestors want an operator to hear at start-up. */
  startupWarnings(): string[]
}

/**
 * @example
 * const attestors = createAttestorRegistry(config.attestors, { trustDomain: config.trustDomain,
 *   audience: config.audience, clock: systemClock, skewSeconds: config.clockSkewSeconds,
 *   maxAttestationBytes: config.limits.maxAttestationBytes, fetchJwks: createHttpJwksFetcher(5000) })
 * const identity = await attestors.attest(subjectToken, 'urn:ietf:params:oauth:token-type:jwt')
 */
export function createAttestorRegistry(configs: readonly AttestorConfig[], deps: AttestorDeps): AttestorRegistry {
  const byIssuer = new Map<string, JwtAttestor>()
  const byTokenType = new Map<string, Attestor>()
  const namespaces = new Map<Attestor, AttestorNamespace>()
  for (const config of configs) {
    for (const attestor of [kindOf(config).create(config, deps)].flat()) {
      namespaces.set(attestor, namespaceOf(config))
      if (isJwtAttestor(attestor)) {
        for (const issuer of attestor.issuers ?? [attestor.issuer]) {
          const taken = byIssuer.get(issuer)
          if (taken !== undefined) {
            throw new ConfigError([
              `attestor ${attestor.name}: issuer ${JSON.stringify(issuer)} is already used by attestor ${taken.name}; one issuer, one attestor`,
            ])
          }
          byIssuer.set(issuer, attestor)
        }
      }
      for (const type of attestor.tokenTypes ?? []) {
        const taken = byTokenType.get(type)
        if (taken !== undefined) {
          throw new ConfigError([
            `attestor ${attestor.name}: ${type} is already taken by attestor ${taken.name}; list everything it should allow in one attestor`,
          ])
        }
        byTokenType.set(type, attestor)
      }
    }
  }
  const overlaps = namespaceOverlaps(configs.map((config) => ({ name: config.name, namespace: namespaceOf(config) })))
  if (overlaps.length > 0) throw new ConfigError(overlaps.map(({ problem }) => problem))
  /** Trust boundary kept by construction: an identity outside its attestor's namespace is a bug, never issued. */
  const checked =
    (attestor: Attestor) =>
    (identity: AttestedIdentity): AttestedIdentity => {
      if (!isInNamespace(identity, namespaces.get(attestor)!, deps.trustDomain)) {
        throw new Error(
          `attestor ${attestor.name} minted ${identity.subject} (sources ${identity.sources.map((s) => s.id).join(' ')}) outside its namespace`,
        )
      }
      return identity
    }
  return {
    async attest(subjectToken, subjectTokenType, routing) {
      if (JWT_TOKEN_TYPES.includes(subjectTokenType)) {
        // Untrusted: the unverified `iss` only picks which attestor verifies the token, with its own keys.
        const jwt = parseUntrustedJwt(subjectToken, deps.maxAttestationBytes)
        const issuer = untrustedIssuerOf(jwt)
        const attestor = byIssuer.get(issuer)
        if (attestor === undefined)
          throw new InvalidGrantError(`no attestor is configured for issuer ${quoteUntrusted(issuer, 100)}`, 'issuer_unknown')
        routing?.attestor(attestor.name, attestor.kind)
        const identity = checked(attestor)(await attestor.attestJwt(jwt))
        return { ...identity, fingerprint: identity.fingerprint ?? jwsFingerprint(jwt) }
      }
      const attestor = byTokenType.get(subjectTokenType)
      if (attestor === undefined)
        throw new InvalidRequestError(
          `no attestor is configured for subject_token_type ${quoteUntrusted(subjectTokenType, 100)}`,
          'token_type_unsupported',
        )
      routing?.attestor(attestor.name, attestor.kind)
      return attestor.attest(subjectToken).then(checked(attestor))
    },
    subjectTokenTypes() {
      return [...(byIssuer.size > 0 ? JWT_TOKEN_TYPES : []), ...byTokenType.keys()]
    },
    startupWarnings() {
      return [...new Set([...byIssuer.values(), ...byTokenType.values()])].flatMap((attestor) => attestor.startupWarnings?.() ?? [])
    },
    list() {
      return configs.length === 0
        ? []
        : [
            ...[...byIssuer].map(([issuer, { name, kind }]) => ({ name, kind, accepts: issuer })),
            ...[...new Set(byTokenType.values())]
              .filter((a) => !isJwtAttestor(a))
              .map((a) => ({ name: a.name, kind: a.kind, accepts: (a.tokenTypes ?? []).join(' ') })),
          ]
    },
  }
}

function isJwtAttestor(attestor: Attestor): attestor is JwtAttestor {
  return 'issuer' in attestor && 'attestJwt' in attestor
}
