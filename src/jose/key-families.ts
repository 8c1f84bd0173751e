import type { KeyObject } from 'node:crypto'
import type { JwsAlgorithm } from './algorithms.js'

/** What kind of key verifies an algorithm: its type, and for EC its curve. */
export type KeyFamily = 'RSA' | 'P-256' | 'P-384' | 'P-521' | 'EdDSA'

export const FAMILY_OF_ALGORITHM: Record<JwsAlgorithm, KeyFamily> = {
  RS256: 'RSA',
  RS384: 'RSA',
  RS512: 'RSA',
  PS256: 'RSA',
  PS384: 'RSA',
  PS512: 'RSA',
  ES256: 'P-256',
  ES384: 'P-384',
  ES512: 'P-521',
  EdDSA: 'EdDSA',
}

/** RSA keys shorter than this verify nothing (RFC 7518 section 3.3). */
export const MIN_RSA_BITS = 2048

const FAMILY_OF_CURVE: Record<string, KeyFamily> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }

/** The family of a public key, or undefined for one that verifies no accepted algorithm. */
export function familyOf(key: KeyObject): KeyFamily | undefined {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RSA'
    case 'ec':
      return FAMILY_OF_CURVE[key.asymmetricKeyDetails?.namedCurve ?? '']
    case 'ed25519':
    case 'ed448':
      return 'EdDSA'
    default:
      return undefined
  }
}
