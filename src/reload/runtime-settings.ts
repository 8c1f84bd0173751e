import type { AttestorDeps } from '../attestors/attestor.js'
import { createAttestorRegistry, type AttestorRegistry } from '../attestors/registry.js'
import { sourceFormsOf, type SourceForm } from '../attestors/source-forms.js'
import type { Config } from '../config.js'
import { Guardrails } from '../grants/guardrails/guardrails.js'
import type { ConfigChanges } from './config-changes.js'

/** The limits a reload may change (config-changes.ts): read per request, never kept. */
export type RuntimeLimits = Pick<
  Config['limits'],
  | 'maxAttestationBytes'
  | 'tokenRequestsPerMinute'
  | 'adminRequestsPerMinute'
  | 'introspectionRequestsPerMinute'
  | 'adminAuthFailuresPerMinute'
>

/**
 * Everything a reload may change, as the running service uses it, in one value that the composition
 * root swaps whole (src/lib/settings-holder.ts). A reader takes it once per unit of work: an exchange
 * that began before a reload attests and sets its token's lifetime with the settings it began with.
 * (The log level is the logger's own, set on it.)
 */
export interface RuntimeSettings {
  attestors: AttestorRegistry
  /** The configured attestors' source forms: what a `source` revocation must be able to match. */
  sourceForms: readonly SourceForm[]
  /** tokens.defaultTtlSeconds */
  defaultTtlSeconds: number
  /** How far the clocks of the replicas and the issuers may disagree: the attestors' and the signing keys' timings. */
  clockSkewSeconds: number
  limits: RuntimeLimits
  /** The rules grants written through the admin API are held to: `grants.guardrails`, and the attestors' identities. */
  guardrails: Guardrails
}

/** What attestors need from outside the configuration: the composition root's clock, JWKS fetcher and its metrics. */
export type AttestorOutside = Pick<AttestorDeps, 'clock' | 'fetchJwks' | 'jwksObserver'>

/** What decides how attestors are built: when none of it changes, a reload keeps them (and their JWKS caches). */
const ATTESTOR_KEYS = ['attestors', 'audience', 'clockSkewSeconds', 'trustDomain', 'limits.maxAttestationBytes']

/**
 * The runtime settings of a configuration. Attestors are built anew when anything they are built from
 * changed (every one of them: their trust files are read again, their JWKS fetched again when first
 * needed), else those of `previous` are kept. Throws ConfigError, as at start, for what only building
 * them finds (an unreadable trust file, two attestors taking one token type).
 */
export function runtimeSettingsOf(
  config: Config,
  outside: AttestorOutside,
  previous?: { settings: RuntimeSettings; changes: ConfigChanges },
): RuntimeSettings {
  const keep =
    previous !== undefined &&
    !previous.changes.changed.some((path) => ATTESTOR_KEYS.some((key) => path === key || path.startsWith(`${key}.`)))
  const attestors = keep
    ? previous.settings.attestors
    : createAttestorRegistry(config.attestors, {
        trustDomain: config.trustDomain,
        audience: config.audience,
        clock: outside.clock,
        skewSeconds: config.clockSkewSeconds,
        maxAttestationBytes: config.limits.maxAttestationBytes,
        fetchJwks: outside.fetchJwks,
        jwksObserver: outside.jwksObserver,
      })
  const {
    maxAttestationBytes,
    tokenRequestsPerMinute,
    adminRequestsPerMinute,
    introspectionRequestsPerMinute,
    adminAuthFailuresPerMinute,
  } = config.limits
  return {
    attestors,
    sourceForms: keep ? previous.settings.sourceForms : sourceFormsOf(config.attestors),
    defaultTtlSeconds: config.tokens.defaultTtlSeconds,
    clockSkewSeconds: config.clockSkewSeconds,
    // Cheap to build: rebuilt at every reload, so a change of the attestors moves it too.
    guardrails: Guardrails.of(config.grants.guardrails, config.trustDomain, config.attestors),
    limits: {
      maxAttestationBytes,
      tokenRequestsPerMinute,
      adminRequestsPerMinute,
      introspectionRequestsPerMinute,
      adminAuthFailuresPerMinute,
    },
  }
}
