import { createPublicKey, randomBytes, randomUUID, verify } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createVerifier } from '../../packages/client/src/index.js'
import { rateOf, type BenchSigningKey, type Rate } from './ceiling.js'

/**
 * What verifying a token costs a resource server with @seed-sts/client: `verify()` as an application
 * calls it, on one core, beside node:crypto's ES256 verify of the same token alone. The verifier holds
 * revocations of every kind (some subject globs), as one following a real STS would: they come from a
 * stand-in for the STS's listing and stream on this machine, read once before the measurement; after
 * that nothing leaves the process (the JWKS is cached, the stream idles).
 */

export interface VerifierRates {
  verifier: Rate
  es256Verify: Rate
  /** Revocations the verifier held while measured. */
  held: number
}

const HELD = { token: 400, grant: 200, source: 200, subject: 100, subjectGlob: 100 }

export async function measureVerifier(
  signing: BenchSigningKey,
  token: string,
  claims: { iss: string; sub: string; aud: string; scope: string },
  seconds: number,
): Promise<VerifierRates> {
  const jwk = { ...createPublicKey(signing.privateKey).export({ format: 'jwk' }), kid: signing.key.kid, alg: 'ES256', use: 'sig' }
  const stand = await standInSts(jwk, claims.sub)
  const verifier = createVerifier({
    issuer: claims.iss,
    audience: claims.aud,
    sts: stand.url,
    revocations: { subscribeToken: 'bench', onStreamLost: { refuseAfterMs: 60_000 } },
  })
  try {
    await verifier.ready()
    const held = verifier.status().held
    const scopes = [claims.scope]
    const measured = await rateOf(seconds, () => verifier.verify(token, { scopes }))
    const dot = token.lastIndexOf('.')
    const input = Buffer.from(token.slice(0, dot), 'latin1')
    const signature = Buffer.from(token.slice(dot + 1), 'base64url')
    const publicKey = createPublicKey(signing.privateKey)
    const es256Verify = await rateOf(seconds, () => {
      if (!verify('sha256', input, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature))
        throw new Error('the sample token does not verify')
    })
    return { verifier: measured, es256Verify, held }
  } finally {
    await verifier.close()
    await stand.close()
  }
}

/** The JWKS, a listing of notices of every kind, and a stream that stays open: what the verifier reads from an STS. */
async function standInSts(jwk: object, subject: string): Promise<{ url: string; close(): Promise<void> }> {
  // Revoked subjects beside the token's own (its namespace's siblings): their globs are the candidates a lookup checks.
  const namespaces = subject.slice(0, subject.lastIndexOf('/ns/') + 4)
  const createdAt = new Date().toISOString()
  const notice = (kind: string, target: string) => ({
    id: randomUUID(),
    kind,
    ...(kind === 'source' ? { sourceHash: target } : { value: target }),
    createdAt,
    expiresAt: null,
    liftedAt: null,
    cursor: '1',
  })
  const revocations = [
    ...Array.from({ length: HELD.token }, () => notice('token', randomUUID())),
    ...Array.from({ length: HELD.grant }, () => notice('grant', randomUUID())),
    ...Array.from({ length: HELD.source }, () => notice('source', randomBytes(32).toString('base64url'))),
    ...Array.from({ length: HELD.subject }, (_, i) => notice('subject', `${namespaces}revoked-${i}/sa/api`)),
    ...Array.from({ length: HELD.subjectGlob }, (_, i) => notice('subject', `${namespaces}gone-${i}/**`)),
  ]
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname
    if (path === '/.well-known/jwks.json')
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }))
    else if (path === '/v1/revocations')
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ revocations, cursor: '1' }))
    else if (path === '/v1/revocations/stream') response.writeHead(200, { 'content-type': 'text/event-stream' }).write(': open\n\n')
    else response.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
