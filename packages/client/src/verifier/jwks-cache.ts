import { createPublicKey, type KeyObject } from 'node:crypto'
import { VerifierUnavailableError } from './errors.js'

export interface JwksCacheOptions {
  uri: string
  fetch: typeof globalThis.fetch
  /** A monotonic clock in milliseconds (not the tokens' clock: a test may stop that one). */
  elapsed: () => number
  /** Least time between two fetches made because a token names an unknown `kid`. */
  cooldownMs: number
  /** How long a fetched key set is used before it is fetched again (the STS publishes a new key at least 5 minutes before it signs). */
  maxAgeMs: number
  timeoutMs: number
}

/**
 * The issuer's signing keys, fetched from its JWKS and kept for `maxAgeMs`. A token naming a `kid`
 * the set lacks (a key published since the last fetch) makes it fetch again at once, but at most once
 * per `cooldownMs`, so tokens with made-up `kid`s cannot make the verifier hammer the STS. One fetch
 * at a time: concurrent callers wait for the same one. An old set goes on serving while a refetch is
 * under way, and if the refetch fails.
 */
export class JwksCache {
  private keys = new Map<string, KeyObject>()
  private fetchedAt: number | undefined
  private lastAttempt: number | undefined
  private inFlight: Promise<void> | undefined
  /** How many fetches were made (a figure for tests and metrics). */
  fetches = 0

  constructor(private readonly options: JwksCacheOptions) {}

  /**
   * The key named `kid`, or undefined when the issuer publishes none by that name. Throws
   * VerifierUnavailableError when the key set is needed and cannot be fetched.
   */
  async key(kid: string): Promise<KeyObject | undefined> {
    const now = this.options.elapsed()
    if (this.fetchedAt === undefined) {
      await this.refresh()
    } else if (now - this.fetchedAt >= this.options.maxAgeMs && !(this.lastAttempt! > this.fetchedAt && this.coolingDown(now))) {
      // Stale but usable: refreshed behind the answer, not in front of it (and, once a refresh has
      // failed, tried again once per cooldown, not once per request).
      this.refresh().catch(() => {
        // Kept: the next call tries again once the cooldown allows.
      })
    }
    const known = this.keys.get(kid)
    if (known !== undefined) return known
    // A fetch under way (another token's) may bring it: wait for that one rather than decide now.
    if (this.inFlight !== undefined) {
      await this.inFlight
      return this.keys.get(kid)
    }
    if (this.coolingDown(now)) return undefined
    await this.refresh()
    return this.keys.get(kid)
  }

  private coolingDown(now: number): boolean {
    return this.lastAttempt !== undefined && now - this.lastAttempt < this.options.cooldownMs
  }

  /** Fetches the key set (one fetch at a time); throws VerifierUnavailableError when it cannot be read. */
  private refresh(): Promise<void> {
    this.inFlight ??= this.fetchKeys().finally(() => {
      this.inFlight = undefined
    })
    return this.inFlight
  }

  private async fetchKeys(): Promise<void> {
    this.lastAttempt = this.options.elapsed()
    this.fetches++
    let body: unknown
    try {
      const response = await this.options.fetch(this.options.uri, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      })
      if (!response.ok) throw new Error(`it answered ${response.status}`)
      body = await response.json()
    } catch (error) {
      throw new VerifierUnavailableError(
        'jwks_unavailable',
        `the issuer's keys cannot be fetched from ${this.options.uri}: ${(error as Error).message}`,
        {
          cause: error,
        },
      )
    }
    const keys = (body as { keys?: unknown }).keys
    if (!Array.isArray(keys)) throw new VerifierUnavailableError('jwks_unavailable', `${this.options.uri} is not a JWKS (no keys array)`)
    const next = new Map<string, KeyObject>()
    for (const jwk of keys as unknown[]) {
      const key = signingKeyOf(jwk)
      if (key) next.set(key.kid, key.key)
    }
    this.keys = next
    this.fetchedAt = this.options.elapsed()
  }
}

/** A JWK the STS could sign access tokens with (EC P-256 or Ed25519, for signatures), or undefined. */
function signingKeyOf(jwk: unknown): { kid: string; key: KeyObject } | undefined {
  if (typeof jwk !== 'object' || jwk === null) return undefined
  const { kid, kty, crv, use } = jwk as Record<string, unknown>
  if (typeof kid !== 'string' || (use !== undefined && use !== 'sig')) return undefined
  if (!((kty === 'EC' && crv === 'P-256') || (kty === 'OKP' && crv === 'Ed25519'))) return undefined
  try {
    return { kid, key: createPublicKey({ key: jwk as JsonWebKeyInput['key'], format: 'jwk' }) }
  } catch {
    return undefined
  }
}

type JsonWebKeyInput = Extract<Parameters<typeof createPublicKey>[0], { format: 'jwk' }>
