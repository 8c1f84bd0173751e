import type { KeyObject } from 'node:crypto'

export type SigningAlgorithm = 'ES256' | 'EdDSA'

export interface SigningKey {
  kid: string
  alg: SigningAlgorithm
  privateKey: KeyObject
}

/** A public JWK as published at /.well-known/jwks.json. */
export interface PublicJwk {
  kty: string
  kid: string
  alg: string
  use: 'sig'
  [member: string]: unknown
}

export interface KeyStore {
  /** The key new tokens are signed with. */
  signingKey(): SigningKey
  /** Every key whose tokens may still be live: verifiers need them all. */
  publicJwks(): { keys: PublicJwk[] }
}
