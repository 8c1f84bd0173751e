import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import type { Test } from 'tap'

/**
 * A stand-in for an issuer's key publication, for the verifier's own checks (the signature, the
 * header, the claims, the JWKS cache): keys made here, tokens signed here exactly as asked, even
 * wrongly. What the real service mints is tested against the real service (revocations.test.ts).
 */

export interface TestKey {
  kid: string
  alg: 'ES256' | 'EdDSA'
  privateKey: KeyObject
  jwk: Record<string, unknown>
}

export function testKey(kid: string, alg: 'ES256' | 'EdDSA' = 'ES256'): TestKey {
  const { privateKey, publicKey } = alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519')
  return { kid, alg, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } }
}

/** A compact JWS of exactly this header and these claims. */
export function signToken(key: TestKey, claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const input = `${encode({ alg: key.alg, typ: 'at+jwt', kid: key.kid, ...header })}.${encode(claims)}`
  const signature =
    key.alg === 'ES256'
      ? sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : sign(null, Buffer.from(input), key.privateKey)
  return `${input}.${signature.toString('base64url')}`
}

export interface JwksServer {
  uri: string
  /** What it publishes; change it to rotate. */
  keys: TestKey[]
  /** How many times it was fetched. */
  fetches: number
  /** While true, it answers 503. */
  failing: boolean
}

/** Serves `{ keys }` at /.well-known/jwks.json on a port of its own; closed at the end of the test. */
export async function startJwksServer(t: Test, keys: TestKey[]): Promise<JwksServer> {
  const state: JwksServer = { uri: '', keys, fetches: 0, failing: false }
  const server: Server = createServer((request, response) => {
    if (request.url !== '/.well-known/jwks.json') {
      response.writeHead(404).end()
      return
    }
    state.fetches++
    if (state.failing) {
      response.writeHead(503).end()
      return
    }
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys.map((key) => key.jwk) }))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  state.uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`
  return state
}
