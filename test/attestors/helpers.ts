import { KeyObject, sign as cryptoSign } from 'node:crypto'
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose'
import type { JwksFetcher } from '../../src/attestors/attestor.js'
import { AttestorConfig, type JwsAlgorithm, type KubernetesAttestorConfig } from '../../src/config.js'
import { InvalidGrantError } from '../../src/errors.js'
import { FixedClock } from '../../src/lib/clock.js'

/** 2025-06-15T16:26:40Z: every test runs "as of" this instant. */
export const NOW = 1_750_004_800

export const ISSUER = 'https://k8s.example.test'
export const AUDIENCE = 'seed-sts'

export function frozenClock(seconds = NOW): FixedClock {
  return new FixedClock(seconds * 1000)
}

export interface TestKey {
  alg: JwsAlgorithm
  kid: string
  privateKey: CryptoKey
  /** The public JWK as an issuer would publish it. */
  jwk: JWK
}

export async function makeKey(alg: JwsAlgorithm, kid: string, options: { crv?: string; bareJwk?: boolean } = {}): Promise<TestKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(options.crv ? { crv: options.crv } : {}) })
  const jwk = await exportJWK(publicKey)
  return { alg, kid, privateKey, jwk: options.bareJwk ? jwk : { ...jwk, kid, alg, use: 'sig' } }
}

export function jwks(...keys: TestKey[]): { keys: JWK[] } {
  return { keys: keys.map((k) => k.jwk) }
}

/** Claims of a well-formed projected service-account token, valid for an hour around NOW. */
export function k8sClaims(overrides: Record<string, unknown> = {}): JWTPayload {
  return {
    iss: ISSUER,
    aud: [AUDIENCE],
    sub: 'system:serviceaccount:payments:api',
    iat: NOW - 60,
    nbf: NOW - 60,
    exp: NOW + 3540,
    'kubernetes.io': {
      namespace: 'payments',
      serviceaccount: { name: 'api', uid: '11111111-2222-3333-4444-555555555555' },
      pod: { name: 'api-7d4b9c-x2x9z', uid: '66666666-7777-8888-9999-000000000000' },
      node: { name: 'ip-10-0-0-1.eu-west-1.compute.internal', uid: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee' },
    },
    ...overrides,
  }
}

/** A token signed the ordinary way, with jose. */
export async function signToken(key: TestKey, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  // A KeyObject, unlike a CryptoKey, is not bound to one algorithm: one RSA key signs RS* and PS*.
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid, ...header }).sign(KeyObject.from(key.privateKey))
}

export function b64(text: string | Buffer): string {
  return Buffer.from(text).toString('base64url')
}

/**
 * A hand-built ES256 token: header and payload are written verbatim (so they may hold what jose refuses
 * to produce, e.g. `crit`, or JSON like `1e400`), and the signature is still valid for `key`.
 */
export function handSign(key: TestKey, header: string | Record<string, unknown>, payload: string | Record<string, unknown>): string {
  const encode = (part: string | Record<string, unknown>): string => b64(typeof part === 'string' ? part : JSON.stringify(part))
  const input = `${encode(header)}.${encode(payload)}`
  const signature = cryptoSign('sha256', Buffer.from(input), { key: KeyObject.from(key.privateKey), dsaEncoding: 'ieee-p1363' })
  return `${input}.${b64(signature)}`
}

/**
 * Changes one character of the payload's `sub` and keeps the original signature: the result is still
 * well-formed, so only the signature check can catch it.
 */
export function tamper(token: string): string {
  const [header, payload, signature] = token.trim().split('.') as [string, string, string]
  const json = Buffer.from(payload, 'base64url').toString('utf8')
  const i = json.indexOf('"sub":"') + '"sub":"'.length
  if (i < '"sub":"'.length) throw new Error('tamper() needs a token with a "sub" claim')
  const flipped = `${json.slice(0, i)}${json[i] === 'x' ? 'y' : 'x'}${json.slice(i + 1)}`
  return `${header}.${b64(flipped)}.${signature}`
}

/** A JwksFetcher fake that counts its calls; `answer` may be changed (or made to throw) between calls. */
export interface CountingFetcher {
  fetch: JwksFetcher
  calls: string[]
  answer: () => Promise<unknown>
}

export function countingFetcher(document: unknown): CountingFetcher {
  const fake: CountingFetcher = {
    calls: [],
    answer: async () => document,
    fetch: async (url) => {
      fake.calls.push(url)
      return fake.answer()
    },
  }
  return fake
}

export function kubernetesConfig(fields: Record<string, unknown>): KubernetesAttestorConfig {
  return AttestorConfig.parse({ kind: 'kubernetes', name: 'prod', issuer: ISSUER, ...fields })
}

interface Asserts {
  ok(value: unknown, message: string): boolean
  match(found: unknown, wanted: unknown, message: string): boolean
}

/**
 * Asserts that `promise` is refused with `ErrorClass` and a description matching `description`, and
 * that the description stays short whatever the attacker sent.
 */
export async function assertRefused(
  t: Asserts,
  promise: Promise<unknown>,
  description: RegExp,
  ErrorClass: abstract new (...args: never[]) => Error = InvalidGrantError,
): Promise<Error> {
  let error: unknown
  try {
    await promise
  } catch (caught) {
    error = caught
  }
  if (!(error instanceof Error)) {
    t.ok(false, `expected ${ErrorClass.name}, but ${error === undefined ? 'it was accepted' : 'a non-Error was thrown'}`)
    return new Error('not refused')
  }
  t.ok(error instanceof ErrorClass, `refused with ${ErrorClass.name} (got ${error.name}: ${error.message})`)
  t.match(error.message, description, 'the description says why')
  t.ok(error.message.length <= 300, `description is short (${error.message.length} characters)`)
  if (error instanceof InvalidGrantError) t.match(error, { error: 'invalid_grant', statusCode: 400, expose: true }, 'an invalid_grant error')
  return error
}
