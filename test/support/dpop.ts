import { randomUUID } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import type { Test } from 'tap'
import type { TestService } from './service.js'
import { ISSUER, JWT_TOKEN_TYPE, TOKEN_EXCHANGE } from './service.js'

/** The token endpoint as clients reach it: what a proof's `htu` names. */
export const TOKEN_ENDPOINT = `${ISSUER}/oauth2/token`

/** A DPoP key pair of a client, with its public JWK and its RFC 7638 thumbprint. */
export interface DpopKey {
  alg: string
  privateKey: CryptoKey
  publicJwk: JWK
  privateJwk: JWK
  jkt: string
}

export async function makeDpopKey(alg = 'ES256'): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = await exportJWK(publicKey)
  return { alg, privateKey, publicJwk, privateJwk: await exportJWK(privateKey), jkt: await calculateJwkThumbprint(publicJwk, 'sha256') }
}

export interface ProofOptions {
  /** Merged over `{ jti: <new>, htm: 'POST', htu: TOKEN_ENDPOINT, iat: <now> }`; a value `undefined` leaves the claim out. */
  claims?: JWTPayload
  /** Merged over `{ alg, typ: 'dpop+jwt', jwk: <public> }`. */
  header?: Record<string, unknown>
  /** Signs with this key instead of the proof key's own. */
  signWith?: CryptoKey | Uint8Array
}

/** A DPoP proof (RFC 9449 section 4.2) for the token endpoint, as of `nowSeconds`. */
export async function makeProof(key: DpopKey, nowSeconds: number, options: ProofOptions = {}): Promise<string> {
  const claims = Object.fromEntries(
    Object.entries({ jti: randomUUID(), htm: 'POST', htu: TOKEN_ENDPOINT, iat: nowSeconds, ...options.claims }).filter(
      ([, value]) => value !== undefined,
    ),
  )
  const header = { alg: key.alg, typ: 'dpop+jwt', jwk: key.publicJwk, ...options.header }
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(options.signWith ?? key.privateKey)
}

/** An unsecured proof (`alg: none`, empty signature), which no verifier may accept. */
export function unsecuredProof(key: DpopKey, nowSeconds: number): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  return `${part({ alg: 'none', typ: 'dpop+jwt', jwk: key.publicJwk })}.${part({ jti: randomUUID(), htm: 'POST', htu: TOKEN_ENDPOINT, iat: nowSeconds })}.`
}

export interface TokenAnswer {
  statusCode: number
  body: Record<string, unknown>
  headers: Record<string, unknown>
}

/** A token request of the service's cluster's default workload, with the `DPoP` header(s) given. */
export async function exchangeWithProof(
  sts: TestService,
  dpop: string | string[] | undefined,
  params: Record<string, string> = {},
): Promise<TokenAnswer> {
  const response = await sts.app.inject({
    method: 'POST',
    url: '/oauth2/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(dpop === undefined ? {} : { dpop }) },
    payload: new URLSearchParams({
      grant_type: TOKEN_EXCHANGE,
      subject_token: await sts.cluster.serviceAccountToken(),
      subject_token_type: JWT_TOKEN_TYPE,
      ...params,
    }).toString(),
  })
  return { statusCode: response.statusCode, body: response.json(), headers: response.headers }
}

/** The claims of a JWT, unverified: for comparing what was issued. */
export function claimsOf(token: unknown): Record<string, unknown> {
  return JSON.parse(Buffer.from(String(token).split('.')[1], 'base64url').toString()) as Record<string, unknown>
}

/** Seconds since the epoch on the service's clock. */
export function nowOf(sts: TestService): number {
  return Math.floor(sts.clock.now() / 1000)
}

export function refusal(t: Test, answer: TokenAnswer, body: Record<string, unknown>, message = 'refused'): void {
  t.equal(answer.statusCode, 400, message)
  t.same(answer.body, body, message)
}
