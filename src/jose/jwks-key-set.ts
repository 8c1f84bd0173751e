import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { ConfigError } from '../config-error.js'
import { InvalidGrantError, ServiceUnavailableError } from '../errors.js'
import type { Clock } from '../lib/clock.js'
import { quoteUntrusted } from '../lib/untrusted-text.js'
import type { JwsAlgorithm } from './algorithms.js'
import type { JwksFetcher } from './jwks-fetcher.js'
import { FAMILY_OF_ALGORITHM, familyOf, MIN_RSA_BITS, type KeyFamily } from './key-families.js'
import type { KeyResolver } from './jwt-verifier.js'

/**
 * The keys an issuer signs attestations with: a static set from the configuration, or a remote JWKS
 * kept fresh. Keys come only from here, never from the token being verified.
 */

export interface TrustedKey {
  kid?: string
  /** The JWK's `alg`, when it names one: the key then verifies that algorithm only. */
  alg?: string
  family: KeyFamily
  key: KeyObject
}

export interface ImportedJwks {
  keys: TrustedKey[]
  /** Why each unusable key was left out, for the start-up log. */
  skipped: string[]
}

/** Imports the signature keys of a JWKS document, skipping (not failing on) keys we cannot use. */
export function importJwks(document: unknown): ImportedJwks {
  const list = (document as { keys?: unknown } | null)?.keys
  if (typeof document !== 'object' || !Array.isArray(list)) throw new Error('not a JWKS: expected an object with a "keys" array')
  const keys: TrustedKey[] = []
  const skipped: string[] = []
  list.forEach((jwk: unknown, index) => {
    const result = importKey(jwk)
    if (typeof result === 'string') skipped.push(`key ${index}${describeKid(jwk)}: ${result}`)
    else keys.push(result)
  })
  return { keys, skipped }
}

function importKey(jwk: unknown): TrustedKey | string {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) return 'not a JSON object'
  const { kty, use, key_ops: ops, kid, alg } = jwk as Record<string, unknown>
  if (kty === 'oct') return 'symmetric keys are never accepted'
  if (use !== undefined && use !== 'sig') return `"use" is ${quoteUntrusted(use, 16)}, not "sig"`
  if (ops !== undefined && !(Array.isArray(ops) && ops.includes('verify'))) return '"key_ops" does not allow "verify"'
  if (kid !== undefined && typeof kid !== 'string') return '"kid" is not a string'
  if (alg !== undefined && typeof alg !== 'string') return '"alg" is not a string'
  let key: KeyObject
  try {
    key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' })
  } catch (error) {
    return `cannot be imported (${(error as Error).message})`
  }
  const family = familyOf(key)
  if (family === undefined) return `a ${key.asymmetricKeyType} key cannot verify any accepted algorithm`
  if (family === 'RSA' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS)
    return `RSA keys shorter than ${MIN_RSA_BITS} bits are not accepted`
  return { kid, alg, family, key }
}

function describeKid(jwk: unknown): string {
  const kid = (jwk as { kid?: unknown } | null)?.kid
  return typeof kid === 'string' ? ` (kid ${quoteUntrusted(kid)})` : ''
}

/** An imported key set, indexed by kid. */
class KeyIndex {
  private readonly byKid = new Map<string, TrustedKey[]>()

  constructor(
    private readonly keys: readonly TrustedKey[],
    private readonly issuer: string,
  ) {
    for (const key of keys) {
      if (key.kid !== undefined) this.byKid.set(key.kid, [...(this.byKid.get(key.kid) ?? []), key])
    }
  }

  /** The key for this header; undefined when none is known (a refresh may find it); throws on a refusal. */
  select(alg: JwsAlgorithm, kid: string | undefined): KeyObject | undefined {
    const family = FAMILY_OF_ALGORITHM[alg]
    const fits = (k: TrustedKey): boolean => k.family === family && (k.alg === undefined || k.alg === alg)
    if (kid === undefined) {
      const candidates = this.keys.filter(fits)
      if (candidates.length > 1) {
        throw new InvalidGrantError(
          `the token has no key id ("kid") and issuer ${JSON.stringify(this.issuer)} has ${candidates.length} keys that could verify it`,
          'key_unknown',
        )
      }
      return candidates[0]?.key
    }
    const named = this.byKid.get(kid)
    if (named === undefined) return undefined
    const match = named.find(fits)
    if (match === undefined)
      throw new InvalidGrantError(
        `the key ${JSON.stringify(kid)} of issuer ${JSON.stringify(this.issuer)} cannot verify ${alg} tokens`,
        'key_unknown',
      )
    return match.key
  }

  unknown(alg: JwsAlgorithm, kid: string | undefined): InvalidGrantError {
    return new InvalidGrantError(
      kid === undefined
        ? `no key trusted for issuer ${JSON.stringify(this.issuer)} can verify ${alg} tokens`
        : `no key with kid ${JSON.stringify(kid)} is trusted for issuer ${JSON.stringify(this.issuer)}`,
      'key_unknown',
    )
  }
}

/** Keys fixed by the configuration: an inline JWKS, or a JWKS file read once at start-up. */
export class StaticKeySet implements KeyResolver {
  private readonly index: KeyIndex
  readonly skipped: readonly string[]

  /** `source` names where the JWKS came from, for configuration errors. */
  constructor(issuer: string, jwks: unknown, source: string) {
    let imported: ImportedJwks
    try {
      imported = importJwks(jwks)
    } catch (error) {
      throw new ConfigError([`${source}: ${(error as Error).message}`])
    }
    if (imported.keys.length === 0) {
      throw new ConfigError([`${source}: no usable signature key (${imported.skipped.join('; ') || 'the set is empty'})`])
    }
    this.index = new KeyIndex(imported.keys, issuer)
    this.skipped = imported.skipped
  }

  static fromFile(issuer: string, path: string, source = path): StaticKeySet {
    let jwks: unknown
    try {
      jwks = JSON.parse(readFileSync(path, 'utf8'))
    } catch (error) {
      throw new ConfigError([`${source}: cannot read a JWKS (${(error as Error).message})`])
    }
    return new StaticKeySet(issuer, jwks, source)
  }

  async resolve(alg: JwsAlgorithm, kid: string | undefined): Promise<KeyObject> {
    const key = this.index.select(alg, kid)
    if (key === undefined) throw this.index.unknown(alg, kid)
    return key
  }
}

export interface RemoteKeySetOptions {
  issuer: string
  uri: string
  fetch: JwksFetcher
  clock: Clock
  cacheSeconds: number
  /** The least time between two fetches, so unknown kids cannot make us hammer the issuer. */
  refreshCooldownSeconds: number
  /**
   * Told of every fetch, under the name of the attestor whose keys these are (the metrics'
   * JwksObserver; declared here, as jose/ is a leaf that imports nothing above it).
   */
  observer?: { attestor: string; jwks: { fetched(attestor: string, ok: boolean): void } }
}

/**
 * A JWKS fetched from the issuer, cached for `cacheSeconds`, fetched again early (at most once per
 * cooldown) when a token names a kid we do not know: that is how key rotation reaches us. An outage of
 * the endpoint keeps the last good set in use; with no set at all we fail closed with a 503.
 */
export class RemoteKeySet implements KeyResolver {
  private index: KeyIndex | undefined
  private fetchedAt = -Infinity
  private lastAttempt = -Infinity
  private inFlight: Promise<void> | undefined

  constructor(private readonly options: RemoteKeySetOptions) {}

  async resolve(alg: JwsAlgorithm, kid: string | undefined): Promise<KeyObject> {
    const { cacheSeconds } = this.options
    const now = this.options.clock.now()
    let refreshed = false
    if (this.index === undefined || (now - this.fetchedAt >= cacheSeconds * 1000 && this.mayRefresh(now))) {
      await this.refresh()
      refreshed = true
    }
    let key = this.index!.select(alg, kid)
    if (key === undefined && !refreshed && this.mayRefresh(now)) {
      await this.refresh()
      key = this.index!.select(alg, kid)
    }
    if (key === undefined) throw this.index!.unknown(alg, kid)
    return key
  }

  /** Joining a fetch already under way costs nothing; starting one waits for the cooldown. */
  private mayRefresh(now: number): boolean {
    return this.inFlight !== undefined || now - this.lastAttempt >= this.options.refreshCooldownSeconds * 1000
  }

  private refresh(): Promise<void> {
    this.inFlight ??= this.load().finally(() => {
      this.inFlight = undefined
    })
    return this.inFlight
  }

  private async load(): Promise<void> {
    const { issuer, uri, fetch, clock } = this.options
    this.lastAttempt = clock.now()
    try {
      const { keys, skipped } = importJwks(await fetch(uri))
      if (keys.length === 0) throw new Error(`no usable signature key (${skipped.join('; ') || 'the set is empty'})`)
      this.index = new KeyIndex(keys, issuer)
      this.fetchedAt = clock.now()
      this.options.observer?.jwks.fetched(this.options.observer.attestor, true)
    } catch (error) {
      this.options.observer?.jwks.fetched(this.options.observer.attestor, false)
      // Keep serving the last good set: a JWKS outage must not refuse every workload of the cluster.
      if (this.index === undefined) {
        throw new ServiceUnavailableError(
          `the signing keys of issuer ${JSON.stringify(issuer)} cannot be fetched right now`,
          'jwks_unavailable',
          error,
        )
      }
    }
  }
}
