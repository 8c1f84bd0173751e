import { createHmac } from 'node:crypto'
import type { JWTPayload } from 'jose'
import type { JwksFetcher } from '../../src/jose/jwks-fetcher.js'
import { b64, jwks, makeKey, signToken, type TestKey } from './attestors/jwt-attestations.js'

/**
 * A stand-in for an organization's identity provider (Okta, Entra ID, Keycloak...): it publishes a
 * discovery document and a JWKS (answered by `fetch`, in place of the network) and signs people's ID
 * tokens with real keys. `stranger` is a key it never published.
 */
export interface FakeIdentityProvider {
  issuer: string
  audience: string
  jwksUri: string
  key: TestKey
  stranger: TestKey
  fetch: JwksFetcher
  /** Every URL fetched, in order. */
  fetched: string[]
  /** The discovery document it serves; change it to serve another. */
  discovery: Record<string, unknown>
  /** A person's ID token, valid for an hour around `nowSeconds`; `claims` and `header` override. */
  token(claims?: JWTPayload, header?: Record<string, unknown>, key?: TestKey): Promise<string>
  /** An unsigned token (`alg: none`), with a signature part so it is not refused for its form alone. */
  unsigned(claims?: JWTPayload): string
  /** A token MACed with HS256 under `secret`, as a confused verifier would accept with the JWK's text as key. */
  hmac(secret: string, claims?: JWTPayload): string
}

export async function fakeIdentityProvider(nowSeconds: number, issuer = 'https://login.example.test'): Promise<FakeIdentityProvider> {
  const key = await makeKey('RS256', 'idp-1')
  const stranger = await makeKey('RS256', 'idp-unpublished')
  const jwksUri = `${issuer}/oauth2/keys`
  const claimsOf = (claims: JWTPayload = {}): JWTPayload => ({
    iss: issuer,
    aud: 'seed-sts-admin',
    sub: 'alice',
    email: 'alice@example.test',
    groups: ['sts-admins'],
    iat: nowSeconds - 60,
    exp: nowSeconds + 3540,
    ...claims,
  })
  const provider: FakeIdentityProvider = {
    issuer,
    audience: 'seed-sts-admin',
    jwksUri,
    key,
    stranger,
    fetched: [],
    discovery: { issuer, jwks_uri: jwksUri, id_token_signing_alg_values_supported: ['RS256'] },
    fetch: async (url) => {
      provider.fetched.push(url)
      if (url === `${issuer}/.well-known/openid-configuration`) return provider.discovery
      if (url === jwksUri) return jwks(key)
      throw new Error(`GET ${url} answered HTTP 404`)
    },
    token: (claims, header = {}, signer = key) => signToken(signer, claimsOf(claims), header),
    unsigned: (claims) => `${b64(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64(JSON.stringify(claimsOf(claims)))}.${b64('x')}`,
    hmac: (secret, claims) => {
      const input = `${b64(JSON.stringify({ alg: 'HS256', kid: 'idp-1' }))}.${b64(JSON.stringify(claimsOf(claims)))}`
      return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
    },
  }
  return provider
}
