import { createHash, randomUUID } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose'
import type { Clock } from './time.js'

/**
 * DPoP proofs (RFC 9449 section 4.2) of a workload: one key pair for the life of the token source
 * (its tokens are bound to it), a new proof for every request, and the latest `DPoP-Nonce` each server
 * handed out, remembered per origin (the STS's nonces are not a resource server's).
 */

/** The algorithms the token source signs proofs with (all of them accepted by Seed STS by default). */
export type DpopAlgorithm = 'ES256' | 'ES384' | 'EdDSA'

export interface DpopOptions {
  /** The key pair to bind tokens to (its private key may be non-extractable); one is generated when absent. */
  key?: { privateKey: CryptoKey; publicKey: CryptoKey }
  /** The key's algorithm ('ES256'). */
  algorithm?: DpopAlgorithm
}

/** For a request that presents an access token, what its proof needs beyond the method and URL. */
export interface ProofExtras {
  /** The access token sent with the request: the proof's `ath` is its SHA-256. */
  accessToken?: string
  /** A nonce to use instead of the one remembered for the URL's origin. */
  nonce?: string
}

interface Key {
  privateKey: CryptoKey
  jwk: JWK
  jkt: string
}

const ALGORITHMS: readonly DpopAlgorithm[] = ['ES256', 'ES384', 'EdDSA']

export class DpopProofs {
  private key?: Promise<Key>
  private readonly nonces = new Map<string, string>()
  readonly algorithm: DpopAlgorithm

  constructor(
    private readonly options: DpopOptions,
    private readonly clock: Clock,
  ) {
    const algorithm = options.algorithm ?? 'ES256'
    if (!ALGORITHMS.includes(algorithm)) throw new TypeError(`tokenSource: \`dpop.algorithm\` must be one of ${ALGORITHMS.join(', ')}`)
    const pair = options.key
    if (pair !== undefined && (pair?.privateKey?.type !== 'private' || pair?.publicKey?.type !== 'public')) {
      throw new TypeError('tokenSource: `dpop.key` must be a CryptoKeyPair { privateKey, publicKey }')
    }
    this.algorithm = algorithm
  }

  /** The RFC 7638 thumbprint of the public key: the `cnf.jkt` of the tokens bound to it. */
  async thumbprint(): Promise<string> {
    return (await this.keyed()).jkt
  }

  /** A fresh proof for `method` on `url` (its query and fragment left out of `htu`), with `ath` when a token goes with it. */
  async proof(method: string, url: string | URL, extras: ProofExtras = {}): Promise<string> {
    const key = await this.keyed()
    const target = new URL(url)
    const htu = `${target.origin}${target.pathname}`
    const nonce = extras.nonce ?? this.nonces.get(target.origin)
    const claims: Record<string, unknown> = {
      jti: randomUUID(),
      htm: method.toUpperCase(),
      htu,
      iat: Math.floor(this.clock.now() / 1000),
      ...(nonce === undefined ? {} : { nonce }),
      ...(extras.accessToken === undefined ? {} : { ath: createHash('sha256').update(extras.accessToken, 'ascii').digest('base64url') }),
    }
    return new SignJWT(claims).setProtectedHeader({ alg: this.algorithm, typ: 'dpop+jwt', jwk: key.jwk }).sign(key.privateKey)
  }

  /** The `DPoP-Nonce` a server at `url` answered with: the next proofs to its origin carry it. */
  rememberNonce(url: string | URL, nonce: string | null): void {
    // RFC 9449 section 8.1: NQCHAR only; anything else is not a nonce to echo.
    if (nonce !== null && /^[\x21\x23-\x5B\x5D-\x7E]+$/.test(nonce)) this.nonces.set(new URL(url).origin, nonce)
  }

  private keyed(): Promise<Key> {
    this.key ??= this.load()
    return this.key
  }

  private async load(): Promise<Key> {
    const pair = this.options.key ?? (await generateKeyPair(this.algorithm))
    const exported = await exportJWK(pair.publicKey)
    // Only the public members go into a proof's header.
    const jwk: JWK =
      exported.kty === 'EC'
        ? { kty: 'EC', crv: exported.crv, x: exported.x, y: exported.y }
        : { kty: exported.kty, crv: exported.crv, x: exported.x }
    return { privateKey: pair.privateKey, jwk, jkt: await calculateJwkThumbprint(jwk, 'sha256') }
  }
}
