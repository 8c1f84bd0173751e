import { sign } from 'node:crypto'
import type { SigningKey } from '../keys/key-store.js'
import type { AccessTokenClaims } from './access-token.js'

/**
 * Signs JWT access tokens (RFC 9068: `typ: at+jwt`) with node:crypto directly: this runs once per
 * exchange, and the header is encoded once per key rather than once per token.
 */
export class TokenSigner {
  private readonly encodedHeader: string

  constructor(private readonly key: SigningKey) {
    this.encodedHeader = base64url(JSON.stringify({ alg: key.alg, typ: 'at+jwt', kid: key.kid }))
  }

  get kid(): string {
    return this.key.kid
  }

  sign(claims: AccessTokenClaims): string {
    const signingInput = `${this.encodedHeader}.${base64url(JSON.stringify(claims))}`
    const signature =
      this.key.alg === 'ES256'
        ? sign('sha256', Buffer.from(signingInput), { key: this.key.privateKey, dsaEncoding: 'ieee-p1363' })
        : sign(null, Buffer.from(signingInput), this.key.privateKey)
    return `${signingInput}.${signature.toString('base64url')}`
  }
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url')
}
