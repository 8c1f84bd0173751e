import { sign, type KeyObject } from 'node:crypto'
import type { Signer } from '../../src/keys/signer.js'
import type { SigningAlgorithm } from '../../src/keys/signing-key.js'
import type { AccessTokenClaims } from '../../src/tokens/access-token.js'
import { TokenSigner } from '../../src/tokens/token-signer.js'

/** Signs with a bare private key, whatever kid the token claims: a forger's signer, or a fixed test key. */
export function keyObjectSigner(privateKey: KeyObject): Pick<Signer, 'sign'> {
  return {
    sign: async (_kid, data) =>
      privateKey.asymmetricKeyType === 'ec'
        ? sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' })
        : sign(null, data, privateKey),
  }
}

/** An access token signed with `privateKey`, its header naming `kid`. */
export function signWith(privateKey: KeyObject, kid: string, alg: SigningAlgorithm, claims: AccessTokenClaims): Promise<string> {
  const key = { kid, alg }
  return new TokenSigner({ signingKey: () => key }, keyObjectSigner(privateKey)).sign(key, claims)
}
