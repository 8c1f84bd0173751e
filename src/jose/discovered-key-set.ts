import type { KeyObject } from 'node:crypto'
import { ServiceUnavailableError } from '../errors.js'
import type { JwsAlgorithm } from './algorithms.js'
import { RemoteKeySet, type RemoteKeySetOptions } from './jwks-key-set.js'
import type { KeyResolver } from './jwt-verifier.js'

/**
 * The keys of an OpenID provider whose JWKS address is read from its discovery document
 * (`<issuer>/.well-known/openid-configuration`, OpenID Connect Discovery 1.0), fetched when first
 * needed and then kept: the address does not change while the provider's keys do. The document must
 * name the configured issuer exactly (section 4.3), so a document served for another issuer is never
 * trusted for this one. Until it has been read, every verification fails closed with a 503, and it is
 * asked again at most once per cooldown.
 */
export class DiscoveredKeySet implements KeyResolver {
  private keys: RemoteKeySet | undefined
  private lastAttempt = -Infinity
  private inFlight: Promise<RemoteKeySet> | undefined

  constructor(private readonly options: Omit<RemoteKeySetOptions, 'uri'>) {}

  /** Where the discovery document of `issuer` is (section 4: the issuer, without a trailing slash, then the well-known path). */
  static documentUrl(issuer: string): string {
    return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
  }

  async resolve(alg: JwsAlgorithm, kid: string | undefined): Promise<KeyObject> {
    return (await this.keySet()).resolve(alg, kid)
  }

  private async keySet(): Promise<RemoteKeySet> {
    if (this.keys !== undefined) return this.keys
    const now = this.options.clock.now()
    if (this.inFlight === undefined && now - this.lastAttempt < this.options.refreshCooldownSeconds * 1000)
      throw this.unavailable(new Error('the last attempt failed; waiting for the cooldown'))
    this.inFlight ??= this.discover().finally(() => {
      this.inFlight = undefined
    })
    return this.inFlight
  }

  private async discover(): Promise<RemoteKeySet> {
    const { issuer, fetch, clock } = this.options
    this.lastAttempt = clock.now()
    let document: unknown
    try {
      document = await fetch(DiscoveredKeySet.documentUrl(issuer))
    } catch (error) {
      throw this.unavailable(error)
    }
    const { issuer: named, jwks_uri: uri } = (typeof document === 'object' && document !== null ? document : {}) as Record<string, unknown>
    if (named !== issuer)
      throw this.unavailable(new Error(`the discovery document names issuer ${JSON.stringify(named)}, not ${JSON.stringify(issuer)}`))
    if (typeof uri !== 'string' || !/^https?:\/\//.test(uri))
      throw this.unavailable(new Error('the discovery document has no http(s) jwks_uri'))
    this.keys = new RemoteKeySet({ ...this.options, uri })
    return this.keys
  }

  private unavailable(cause: unknown): ServiceUnavailableError {
    return new ServiceUnavailableError(
      `the discovery document of issuer ${JSON.stringify(this.options.issuer)} cannot be read right now`,
      'jwks_unavailable',
      cause,
    )
  }
}
