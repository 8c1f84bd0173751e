import { constants, generateKeyPairSync, randomBytes, randomUUID, sign, verify, type KeyObject } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { createAttestorRegistry } from '../../src/attestors/registry.js'
import type { Config } from '../../src/config.js'
import { KeyEncryptionKey } from '../../src/keys/key-encryption.js'
import { KeyEncryptionKeys } from '../../src/keys/key-encryption-keys.js'
import type { ActiveKey } from '../../src/keys/key-ring.js'
import { newSigningKey } from '../../src/keys/key-service.js'
import { SoftwareSigner } from '../../src/keys/software-signer.js'
import { systemClock } from '../../src/lib/clock.js'
import type { AccessTokenClaims } from '../../src/tokens/access-token.js'
import { TokenSigner } from '../../src/tokens/token-signer.js'
import { SourceHasher } from '../../src/tokens/source-hash.js'

/**
 * The machine's ceiling for a token exchange: the part of it no store can take away, the attestation
 * verified and the access token signed with the service's own code, in this process, on one core,
 * with no I/O at all. The service cannot go faster than this per core; how close it comes says how
 * much the HTTP layer, the stores and the event loop cost on top.
 */

export interface Rate {
  operations: number
  seconds: number
  perSecond: number
}

/**
 * Runs `operation` back to back for `seconds` (after a short warm-up, so the JIT has settled).
 * Synchronous crypto on the main thread: one core.
 */
export async function rateOf(seconds: number, operation: (i: number) => unknown): Promise<Rate> {
  const warmUntil = performance.now() + Math.min(500, seconds * 200)
  let i = 0
  while (performance.now() < warmUntil) await operation(i++)
  const started = performance.now()
  const deadline = started + seconds * 1000
  let operations = 0
  while (performance.now() < deadline) {
    await operation(i++)
    operations++
  }
  const elapsed = (performance.now() - started) / 1000
  return { operations, seconds: elapsed, perSecond: operations / elapsed }
}

/** A signing key as the service signs with it (the software signer), and its private key for the raw measurement. */
export interface BenchSigningKey {
  signer: TokenSigner
  key: ActiveKey
  privateKey: KeyObject
}

export async function benchSigningKey(): Promise<BenchSigningKey> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const software = new SoftwareSigner(new KeyEncryptionKeys(new KeyEncryptionKey(randomBytes(32))))
  const made = await software.importPrivateKey(privateKey)
  await software.open(newSigningKey(made, software.name, 'generated', 'current', new Date()))
  const key = { kid: made.kid, alg: made.alg }
  return { signer: new TokenSigner({ signingKey: () => key }, software), key, privateKey }
}

/** Attest (the Kubernetes attestor behind the registry, as in the service) and sign, per workload. */
export async function measureExchangeCeiling(
  config: Config,
  tokens: readonly string[],
  signing: BenchSigningKey,
  seconds: number,
): Promise<Rate> {
  const attestors = createAttestorRegistry(config.attestors, {
    trustDomain: config.trustDomain,
    audience: config.audience,
    clock: systemClock,
    skewSeconds: config.clockSkewSeconds,
    maxAttestationBytes: config.limits.maxAttestationBytes,
    // The JWKS is inline: a fetch here would be a bug in the measurement, not a cost to measure.
    fetchJwks: async () => {
      throw new Error('the ceiling measurement must not fetch a JWKS')
    },
  })
  // The source hashes are part of every token: keyed as the service keys them.
  const hasher = new SourceHasher(randomBytes(32))
  const grantId = randomUUID()
  return rateOf(seconds, async (i) => {
    const identity = await attestors.attest(tokens[i % tokens.length], 'urn:ietf:params:oauth:token-type:jwt')
    const iat = Math.floor(systemClock.now() / 1000)
    const claims: AccessTokenClaims = {
      iss: config.issuer,
      sub: identity.subject,
      aud: 'ledger-api',
      exp: iat + 300,
      iat,
      nbf: iat,
      jti: randomUUID(),
      client_id: identity.subject,
      scope: 'ledger:read',
      grants: [grantId],
      src_h: identity.sources.map((source) => hasher.hash(source.id)),
    }
    return signing.signer.sign(signing.key, claims)
  })
}

export interface RawCryptoRates {
  rs256Verify: Rate
  es256Sign: Rate
}

/** node:crypto alone, for reference: the RS256 verify of a real attestation, the ES256 sign of a real access token. */
export async function measureRawCrypto(
  attestation: string,
  clusterKey: KeyObject,
  signingKey: KeyObject,
  accessTokenInput: string,
  seconds: number,
): Promise<RawCryptoRates> {
  const dot = attestation.lastIndexOf('.')
  const signedPart = Buffer.from(attestation.slice(0, dot), 'latin1')
  const signature = Buffer.from(attestation.slice(dot + 1), 'base64url')
  const rs256Verify = await rateOf(seconds, () => {
    if (!verify('sha256', signedPart, { key: clusterKey, padding: constants.RSA_PKCS1_PADDING }, signature)) {
      throw new Error('the reference RS256 signature does not verify')
    }
  })
  const input = Buffer.from(accessTokenInput)
  const es256Sign = await rateOf(seconds, () => sign('sha256', input, { key: signingKey, dsaEncoding: 'ieee-p1363' }))
  return { rs256Verify, es256Sign }
}
