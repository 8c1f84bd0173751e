import type { KeyObject } from 'node:crypto'
import type { JWK } from 'jose'
import type { SigningAlgorithm } from '../signing-key.js'
import {
  CKA_CLASS,
  CKA_DECRYPT,
  CKA_DERIVE,
  CKA_EC_PARAMS,
  CKA_EXTRACTABLE,
  CKA_ID,
  CKA_KEY_TYPE,
  CKA_LABEL,
  CKA_PRIVATE,
  CKA_SENSITIVE,
  CKA_SIGN,
  CKA_TOKEN,
  CKA_UNWRAP,
  CKA_VALUE,
  CKA_VERIFY,
  CKK_EC,
  CKK_EC_EDWARDS,
  CKM_EC_EDWARDS_KEY_PAIR_GEN,
  CKM_EC_KEY_PAIR_GEN,
  CKM_ECDSA,
  CKM_EDDSA,
  CKO_PRIVATE_KEY,
  ED25519_PARAMS,
  P256_PARAMS,
} from './pkcs11-constants.js'

export interface Attribute {
  type: number
  value?: number | boolean | string | Buffer
}

/** What each algorithm needs of the token. */
export const MECHANISMS: Record<SigningAlgorithm, { generate: number; sign: number; keyType: number; params: Buffer; names: string }> = {
  ES256: {
    generate: CKM_EC_KEY_PAIR_GEN,
    sign: CKM_ECDSA,
    keyType: CKK_EC,
    params: P256_PARAMS,
    names: 'CKM_EC_KEY_PAIR_GEN and CKM_ECDSA',
  },
  EdDSA: {
    generate: CKM_EC_EDWARDS_KEY_PAIR_GEN,
    sign: CKM_EDDSA,
    keyType: CKK_EC_EDWARDS,
    params: ED25519_PARAMS,
    names: 'CKM_EC_EDWARDS_KEY_PAIR_GEN and CKM_EDDSA',
  },
}

/** The label each key gets in the token, so an operator listing its objects can tell which kid each is. */
export function labelOf(kid: string): string {
  return `seed-sts ${kid}`
}

/**
 * A private key that never leaves the token: sensitive (its value is never returned), not extractable
 * (never wrapped out), for signing only, kept on the token (CKA_TOKEN) and usable only once logged in.
 */
export function privateKeyTemplate(alg: SigningAlgorithm, id: Buffer, label: string): Attribute[] {
  return [
    { type: CKA_CLASS, value: CKO_PRIVATE_KEY },
    { type: CKA_KEY_TYPE, value: MECHANISMS[alg].keyType },
    { type: CKA_TOKEN, value: true },
    { type: CKA_PRIVATE, value: true },
    { type: CKA_SENSITIVE, value: true },
    { type: CKA_EXTRACTABLE, value: false },
    { type: CKA_SIGN, value: true },
    { type: CKA_DECRYPT, value: false },
    { type: CKA_UNWRAP, value: false },
    { type: CKA_DERIVE, value: false },
    { type: CKA_ID, value: id },
    { type: CKA_LABEL, value: label },
  ]
}

/** The public half is read once for its point, then destroyed: the keys table keeps the public JWK. */
export function publicKeyTemplate(alg: SigningAlgorithm): Attribute[] {
  return [
    { type: CKA_TOKEN, value: false },
    { type: CKA_VERIFY, value: true },
    { type: CKA_EC_PARAMS, value: MECHANISMS[alg].params },
  ]
}

/** An existing private key brought into the token, as sensitive and unextractable as one made there. */
export function importTemplate(alg: SigningAlgorithm, privateKey: KeyObject, id: Buffer, label: string): Attribute[] {
  const { d } = privateKey.export({ format: 'jwk' })
  if (d === undefined) throw new TypeError('an imported signing key must be a private key')
  return [
    ...privateKeyTemplate(alg, id, label),
    { type: CKA_EC_PARAMS, value: MECHANISMS[alg].params },
    { type: CKA_VALUE, value: Buffer.from(d, 'base64url') },
  ]
}

/**
 * The public JWK from CKA_EC_POINT: a DER OCTET STRING around the point (PKCS#11 says so; some modules
 * give the bare point): for P-256 the uncompressed 04 || x || y, for Ed25519 the 32-byte key.
 */
export function publicJwkOf(alg: SigningAlgorithm, ecPoint: Buffer): JWK {
  const size = alg === 'ES256' ? 65 : 32
  const point = ecPoint.length === size + 2 && ecPoint[0] === 0x04 && ecPoint[1] === size ? ecPoint.subarray(2) : ecPoint
  if (point.length !== size || (alg === 'ES256' && point[0] !== 0x04)) {
    throw new Error(
      `the token answered a public key of ${ecPoint.length} bytes, not an ${alg === 'ES256' ? 'uncompressed P-256 point' : 'Ed25519 key'}`,
    )
  }
  if (alg === 'EdDSA') return { kty: 'OKP', crv: 'Ed25519', x: point.toString('base64url') }
  return { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }
}
