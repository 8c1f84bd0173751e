import { parseUntrustedJwt, type UntrustedJwt } from '../jose/compact-jws.js'
import { RemoteKeySet, StaticKeySet } from '../jose/jwks-key-set.js'
import { JwtVerifier, type JwtPayload, type KeyResolver } from '../jose/jwt-verifier.js'
import type { AttestedIdentity, AttestorDeps, JwtAttestor } from './attestor.js'
import type { JwtIssuerConfig } from './jwt-issuer-config.js'
import { singleUseOf } from './single-use.js'

/**
 * What every attestor of JWTs from one configured issuer (Kubernetes, GCP, GitHub Actions, any OIDC
 * issuer) does the same way: verify the token with the issuer's keys and policy, let the kind turn the
 * verified claims into an identity, and mark it single-use when configured. A kind supplies only what is
 * its own: `identify`, and `inspect` to refuse a kind of token with a better message than the claim
 * checks would give.
 */
export interface JwtAttestorOptions {
  kind: string
  /** Where the issuer publishes its keys when the configuration gives none (Google's, GitHub's). */
  defaultJwksUri?: string
  /** Sees the payload once its signature has verified, before the claim checks (jwt-verifier.ts). */
  inspect?: (payload: Record<string, unknown>) => void
  /** The identity a verified token proves; throws InvalidGrantError when its claims prove none. */
  identify(payload: JwtPayload): AttestedIdentity
}

/**
 * @example
 * return createJwtAttestor(config, deps, { kind: 'kubernetes', inspect: refuseLegacyToken, identify: (payload) => toIdentity(payload, config) })
 */
export function createJwtAttestor(config: JwtIssuerConfig, deps: AttestorDeps, options: JwtAttestorOptions): JwtAttestor {
  const verifier = createIssuerVerifier(config, deps, options.defaultJwksUri)
  const attestJwt = async (jwt: UntrustedJwt): Promise<AttestedIdentity> => {
    const { payload } = await verifier.verify(jwt, options.inspect)
    const identity = options.identify(payload)
    // Marked so, the exchange claims the token once across all instances, until it could no longer pass the expiry check.
    return config.singleUse ? { ...identity, singleUse: singleUseOf(jwt, payload, config.issuer, deps.skewSeconds) } : identity
  }
  return {
    name: config.name,
    kind: options.kind,
    issuer: config.issuer,
    // Async, so that a malformed token is a rejected promise like any other refusal, never a throw.
    attest: async (attestation) => attestJwt(parseUntrustedJwt(attestation, deps.maxAttestationBytes)),
    attestJwt,
  }
}

/**
 * The verifier for an issuer: its exact `iss`, the audience (the attestor's own, else the service's),
 * its algorithms and lifetime bound, and keys ONLY from the configuration (inline, file, or the URI
 * configured or defaulted for the kind), never from anything the token says.
 */
function createIssuerVerifier(config: JwtIssuerConfig, deps: AttestorDeps, defaultJwksUri: string | undefined): JwtVerifier {
  return new JwtVerifier(
    {
      issuer: config.issuer,
      audience: config.audience ?? deps.audience,
      algorithms: config.algorithms,
      maxLifetimeSeconds: config.maxTokenLifetimeSeconds,
      skewSeconds: deps.skewSeconds,
      maxBytes: deps.maxAttestationBytes,
    },
    keySetFor(config, deps, defaultJwksUri),
    deps.clock,
  )
}

function keySetFor(config: JwtIssuerConfig, deps: AttestorDeps, defaultJwksUri: string | undefined): KeyResolver {
  if (config.jwks !== undefined) return new StaticKeySet(config.issuer, config.jwks, `attestor ${config.name}: jwks`)
  if (config.jwksFile !== undefined)
    return StaticKeySet.fromFile(config.issuer, config.jwksFile, `attestor ${config.name}: jwksFile ${config.jwksFile}`)
  const uri = config.jwksUri ?? defaultJwksUri
  // Unreachable after schema validation (checkKeySource): a programming mistake, not a bad token.
  if (uri === undefined) throw new TypeError(`attestor ${config.name}: no jwks, jwksFile or jwksUri`)
  return new RemoteKeySet({
    issuer: config.issuer,
    uri,
    fetch: deps.fetchJwks,
    clock: deps.clock,
    cacheSeconds: config.jwksCacheSeconds,
    refreshCooldownSeconds: config.jwksRefreshCooldownSeconds,
    ...(deps.jwksObserver ? { observer: { attestor: config.name, jwks: deps.jwksObserver } } : {}),
  })
}

/** A claim that is a JSON object, or undefined. */
export function objectClaim(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
}
