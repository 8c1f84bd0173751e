import type { ActiveKey } from '../keys/key-ring.js'
import type { Signer } from '../keys/signer.js'
import type { AccessTokenClaims } from './access-token.js'

/** Where the key to sign with comes from: this instance's key ring. */
export interface SigningKeySource {
  /** Throws ServiceUnavailableError when this instance cannot vouch for its keys. */
  signingKey(): ActiveKey
}

/**
 * Signs JWT access tokens (RFC 9068: `typ: at+jwt`) with the current key of the key ring, through the
 * signer that holds the private keys. The header is encoded once per key rather than once per token.
 */
export class TokenSigner {
  private header: { kid: string; encoded: string } | undefined

  constructor(
    private readonly keys: SigningKeySource,
    private readonly signer: Pick<Signer, 'sign'>,
  ) {}

  /** The key the next token is signed with: taken before the token is recorded, so the ledger names it. */
  currentKey(): ActiveKey {
    return this.keys.signingKey()
  }

  async sign(key: ActiveKey, claims: AccessTokenClaims): Promise<string> {
    if (this.header?.kid !== key.kid) {
      this.header = { kid: key.kid, encoded: base64url(JSON.stringify({ alg: key.alg, typ: 'at+jwt', kid: key.kid })) }
    }
    const signingInput = `${this.header.encoded}.${base64url(JSON.stringify(claims))}`
    const signature = await this.signer.sign(key.kid, Buffer.from(signingInput))
    return `${signingInput}.${Buffer.from(signature).toString('base64url')}`
  }
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url')
}
