import { createHash, createPublicKey, verify } from 'node:crypto'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { jwks, makeKey, signToken, type TestKey } from '../support/attestors/jwt-attestations.js'
import { STS_AUDIENCE } from '../support/cluster.js'
import { startOwnRedis } from '../support/redis-server.js'
import {
  JWT_TOKEN_TYPE,
  startTestService,
  TOKEN_EXCHANGE,
  TRUST_DOMAIN,
  type TestService,
  type TestServiceOptions,
} from '../support/service.js'

/**
 * Single use end to end, over the HTTP API: one attestation gets one token, whichever of its valid
 * spellings is presented, and even after Redis has lost everything it knew.
 */

const NOW = Date.parse('2026-11-23T12:00:00Z') / 1000
const ISSUER = 'https://ci.example.test'
const ALREADY_USED = {
  error: 'invalid_grant',
  error_description: 'this attestation was already used: single-use attestations are accepted once',
  error_reason: 'replayed',
}
const rsa = await makeKey('RS256', 'rsa-1')
const ec = await makeKey('ES256', 'ec-1')

/** An OIDC issuer (single-use by default) whose tokens carry no `jti`: keyed by what was signed. */
async function start(t: Test, options: TestServiceOptions = {}, attestor: Record<string, unknown> = {}): Promise<TestService> {
  const sts = await startTestService(t, {
    now: NOW * 1000,
    ...options,
    config: {
      attestors: [{ kind: 'oidc', name: 'ci', issuer: ISSUER, jwks: jwks(rsa, ec), subjectTemplate: 'ci/{claims.sub}', ...attestor }],
    },
  })
  await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/ci/*`, audiences: ['deploy'], owner: 'team-ci' })
  return sts
}

const job = (key: TestKey, sub = 'job-1') => signToken(key, { iss: ISSUER, aud: STS_AUDIENCE, sub, iat: NOW - 10, exp: NOW + 300 })
const exchange = (sts: TestService, subjectToken: string) =>
  sts.exchange({ grant_type: TOKEN_EXCHANGE, subject_token: subjectToken, subject_token_type: JWT_TOKEN_TYPE })
const jtiOf = (accessToken: unknown): string => JSON.parse(Buffer.from(String(accessToken).split('.')[1], 'base64url').toString()).jti
const signingInputHash = (token: string): string => createHash('sha256').update(token.split('.').slice(0, 2).join('.')).digest('base64url')

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** The 16 spellings of an RS256 token: 256 signature bytes leave 4 spare bits in the last character. */
function spellings(token: string): string[] {
  const last = ALPHABET.indexOf(token.at(-1)!)
  return Array.from({ length: 16 }, (_, spare) => `${token.slice(0, -1)}${ALPHABET[(last & 0b110000) | spare]}`)
}

/** The other valid ES256 signature of the same token: (r, s) -> (r, n - s). */
function ecdsaTwin(token: string): string {
  const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n
  const [header, payload, signature] = token.split('.') as [string, string, string]
  const bytes = Buffer.from(signature, 'base64url')
  const s = BigInt(`0x${bytes.subarray(32).toString('hex')}`)
  const twin = Buffer.concat([bytes.subarray(0, 32), Buffer.from((n - s).toString(16).padStart(64, '0'), 'hex')])
  return `${header}.${payload}.${twin.toString('base64url')}`
}

t.test('an RS256 attestation has one accepted spelling, and is used once', async (t) => {
  const sts = await start(t)
  const token = await job(rsa)
  const all = spellings(token)
  t.equal(all[0], token, 'a correct encoder leaves the spare bits zero')
  t.equal(
    new Set(all.map((spelling) => Buffer.from(spelling.split('.')[2], 'base64url').toString('hex'))).size,
    1,
    'all 16 decode to the one signature',
  )
  const nonCanonical = {
    error: 'invalid_grant',
    error_description: 'the attestation is not a JWT: its signature is not canonical base64url (its unused trailing bits must be zero)',
    error_reason: 'attestation_malformed',
  }

  t.same((await exchange(sts, all[5])).body, nonCanonical, 'refused for its spelling, before it could claim anything')
  const first = await exchange(sts, token)
  t.equal(first.statusCode, 200, String(first.body.error_description ?? 'issued'))
  const answers = await Promise.all(all.map(async (spelling) => (await exchange(sts, spelling)).body))
  t.same(answers, [ALREADY_USED, ...Array.from({ length: 15 }, () => nonCanonical)], 'after the first use, every spelling is refused')
  const { items: entries } = await sts.services.ledger.search({ limit: 10 }, new Date(sts.clock.now()))
  t.same(
    entries.map((entry) => [entry.jti, entry.attestationFingerprint]),
    [[jtiOf(first.body.access_token), signingInputHash(token)]],
    'one token, fingerprinted by what was signed',
  )
})

t.test('an ES256 attestation and its high-s/low-s twin are one attestation', async (t) => {
  const token = await job(ec)
  const twin = ecdsaTwin(token)
  const [header, payload] = token.split('.')
  t.not(twin, token)
  t.ok(
    verify(
      'sha256',
      Buffer.from(`${header}.${payload}`),
      { key: createPublicKey({ key: ec.jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' },
      Buffer.from(twin.split('.')[2], 'base64url'),
    ),
    'the twin is a valid signature',
  )

  const single = await start(t)
  t.equal((await exchange(single, token)).statusCode, 200)
  t.same((await exchange(single, twin)).body, ALREADY_USED, 'the twin is a replay')

  // Not single-use: both get a token, and the ledger ties both to the one attestation.
  const reusable = await start(t, {}, { singleUse: false })
  const issued = [await exchange(reusable, token), await exchange(reusable, twin)]
  t.same(
    issued.map((response) => response.statusCode),
    [200, 200],
  )
  const fingerprints = await Promise.all(
    issued.map(async (response) => (await reusable.services.ledger.get(jtiOf(response.body.access_token)))?.attestationFingerprint),
  )
  t.same(fingerprints, [signingInputHash(token), signingInputHash(token)])
})

t.test('a single-use attestation stays used after Redis loses its data', async (t) => {
  const redis = await startOwnRedis(t)
  const sts = await start(t, { redisUrl: redis.url })
  const client = new Redis(redis.url, { maxRetriesPerRequest: 0 })
  client.on('error', () => {})
  t.teardown(() => client.disconnect())
  const token = await job(rsa)

  t.equal((await exchange(sts, token)).statusCode, 200)
  await client.flushall()
  t.same(await client.dbsize(), 0, 'Redis is empty')
  t.same((await exchange(sts, token)).body, ALREADY_USED, 'the claim in Postgres refuses the replay')
  t.equal((await exchange(sts, await job(rsa, 'job-2'))).statusCode, 200, 'another attestation is still accepted')
  t.equal((await sts.services.ledger.search({ limit: 10 }, new Date(sts.clock.now()))).items.length, 2, 'no ledger row for the replay')
})

t.test('the embedded backends (PGlite, no Redis) keep the same record', async (t) => {
  const sts = await start(t, { backend: 'embedded' })
  const token = await job(ec)
  t.equal((await exchange(sts, token)).statusCode, 200)
  t.same((await exchange(sts, token)).body, ALREADY_USED)
  t.same(
    await sts.services.database.query('SELECT key, expires_at FROM attestation_claims'),
    [{ key: `${ISSUER}|sha256:${signingInputHash(token)}`, expires_at: new Date((NOW + 300 + 60) * 1000) }],
    'keyed by issuer and signing input, kept until the token could no longer pass its expiry check',
  )
})
