import { createHmac } from 'node:crypto'
import t from 'tap'
import type { JwsAlgorithm } from '../../src/jose/algorithms.js'
import { parseUntrustedJwt, untrustedIssuerOf } from '../../src/jose/compact-jws.js'
import { RemoteKeySet, StaticKeySet } from '../../src/jose/jwks-key-set.js'
import { JwtVerifier, type JwtVerificationPolicy, type KeyResolver } from '../../src/jose/jwt-verifier.js'
import { InvalidGrantError } from '../../src/errors.js'
import {
  assertRefused,
  AUDIENCE,
  b64,
  countingFetcher,
  frozenClock,
  handSign,
  ISSUER,
  jwks,
  makeKey,
  NOW,
  signToken,
  tamper,
  type TestKey,
} from '../support/attestors/jwt-attestations.js'

const policy: JwtVerificationPolicy = {
  issuer: ISSUER,
  audience: AUDIENCE,
  algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'],
  maxLifetimeSeconds: 86_400,
  skewSeconds: 60,
  maxBytes: 16_384,
}
const claims = { iss: ISSUER, aud: AUDIENCE, sub: 'workload', iat: NOW - 60, exp: NOW + 600 }

const rsa = await makeKey('RS256', 'rsa-1')
const es256 = await makeKey('ES256', 'ec-1')
const es384 = await makeKey('ES384', 'ec-384')
const es512 = await makeKey('ES512', 'ec-521')
const ed25519 = await makeKey('EdDSA', 'ed-1')
const impostor = await makeKey('ES256', 'ec-1')
// One RSA key signs every RS* and PS* token: its JWK must not pin an algorithm.
const rsaAny: TestKey = { ...rsa, jwk: { ...rsa.jwk, alg: undefined } }
const keySet = new StaticKeySet(ISSUER, jwks(rsaAny, es256, es384, es512, ed25519), 'test')

function verifier(overrides: Partial<JwtVerificationPolicy> = {}, keys: KeyResolver = keySet, clock = frozenClock()): JwtVerifier {
  return new JwtVerifier({ ...policy, ...overrides }, keys, clock)
}

t.test('accepts a good token of every accepted algorithm', async (t) => {
  const cases: [JwsAlgorithm, TestKey][] = [
    ['RS256', rsaAny],
    ['RS384', rsaAny],
    ['RS512', rsaAny],
    ['PS256', rsaAny],
    ['PS384', rsaAny],
    ['PS512', rsaAny],
    ['ES256', es256],
    ['ES384', es384],
    ['ES512', es512],
    ['EdDSA', ed25519],
  ]
  for (const [alg, key] of cases) {
    const token = await signToken({ ...key, alg }, claims)
    const result = await verifier().verify(token)
    t.same(result, { header: { alg, kid: key.kid }, payload: claims }, alg)
  }
})

t.test('refuses a bad signature', async (t) => {
  await assertRefused(t, verifier().verify(await signToken(impostor, claims)), 'signature_invalid', /^the token signature is invalid$/)
  await assertRefused(t, verifier().verify(tamper(await signToken(es256, claims))), 'signature_invalid', /signature is invalid/)
  const good = await signToken(es256, claims)
  const truncated = `${good.slice(0, good.lastIndexOf('.') + 1)}${b64(Buffer.alloc(10))}`
  await assertRefused(t, verifier().verify(truncated), 'signature_invalid', /signature is invalid/, InvalidGrantError)
})

t.test('refuses a DER-encoded ECDSA signature (JWS uses r||s)', async (t) => {
  const { sign, KeyObject } = await import('node:crypto')
  const input = `${b64(JSON.stringify({ alg: 'ES256', kid: 'ec-1' }))}.${b64(JSON.stringify(claims))}`
  const der = sign('sha256', Buffer.from(input), KeyObject.from(es256.privateKey))
  await assertRefused(t, verifier().verify(`${input}.${b64(der)}`), 'signature_invalid', /signature is invalid/)
})

t.test('refuses a wrong issuer or audience', async (t) => {
  await assertRefused(
    t,
    verifier().verify(await signToken(es256, { ...claims, iss: 'https://evil.test' })),
    'issuer_mismatch',
    /^the token issuer "https:\/\/evil.test" is not "https:\/\/k8s.example.test"$/,
  )
  await assertRefused(
    t,
    verifier().verify(await signToken(es256, { ...claims, aud: ['other', 'more'] })),
    'audience_mismatch',
    /^the token is addressed to "other, more", not to "seed-sts"$/,
  )
  await assertRefused(
    t,
    verifier().verify(await signToken(es256, { ...claims, aud: undefined })),
    'audience_mismatch',
    /audience \("aud"\) is missing or malformed: \(none\)/,
  )
  await assertRefused(
    t,
    verifier().verify(handSign(es256, { alg: 'ES256', kid: 'ec-1' }, { ...claims, aud: [AUDIENCE, 7] })),
    'audience_mismatch',
    /audience .* malformed/,
  )
  const result = await verifier().verify(await signToken(es256, { ...claims, aud: ['other', AUDIENCE] }))
  t.same(result.payload.aud, ['other', AUDIENCE], 'an audience list containing ours is accepted')
})

t.test('checks time claims against the injected clock, with skew', async (t) => {
  const at = (exp: number, more: object = {}): Promise<string> => signToken(es256, { ...claims, exp, ...more })
  await assertRefused(t, verifier().verify(await at(NOW - 60)), 'token_expired', /^the token expired at 2025-06-15T16:25:40.000Z$/)
  t.ok(await verifier().verify(await at(NOW - 59)), 'expired 59 s ago is within the skew')
  await assertRefused(
    t,
    verifier().verify(await at(NOW + 600, { nbf: NOW + 61 })),
    'token_not_yet_valid',
    /^the token is not valid before 2025-06-15T16:27:41.000Z$/,
  )
  t.ok(await verifier().verify(await at(NOW + 600, { nbf: NOW + 60 })), 'nbf within the skew')
  await assertRefused(
    t,
    verifier().verify(await at(NOW + 600, { iat: NOW + 61 })),
    'token_not_yet_valid',
    /^the token was issued in the future \(2025-06-15T16:27:41.000Z\)$/,
  )
  const clock = frozenClock()
  const token = await at(NOW + 600)
  t.ok(await verifier({}, keySet, clock).verify(token))
  clock.advance(660_000)
  await assertRefused(t, verifier({}, keySet, clock).verify(token), 'token_expired', /expired/, InvalidGrantError)
})

t.test('requires a finite exp and refuses lifetimes above the maximum', async (t) => {
  await assertRefused(
    t,
    verifier().verify(await signToken(es256, { ...claims, exp: undefined })),
    'expiry_missing',
    /no expiry \("exp"\); only expiring tokens/,
  )
  await assertRefused(
    t,
    verifier().verify(handSign(es256, { alg: 'ES256', kid: 'ec-1' }, { ...claims, exp: '2030-01-01' })),
    'claim_invalid',
    /"exp" claim is not a finite number/,
  )
  const huge = `{"iss":"${ISSUER}","aud":"${AUDIENCE}","iat":${NOW},"exp":1e400}`
  await assertRefused(
    t,
    verifier().verify(handSign(es256, { alg: 'ES256', kid: 'ec-1' }, huge)),
    'claim_invalid',
    /^the token "exp" claim is not a finite number of seconds$/,
  )
  const hugeIat = `{"iss":"${ISSUER}","aud":"${AUDIENCE}","iat":-1e400,"exp":${NOW + 60}}`
  await assertRefused(
    t,
    verifier().verify(handSign(es256, { alg: 'ES256', kid: 'ec-1' }, hugeIat)),
    'claim_invalid',
    /"iat" claim is not a finite number/,
  )
  await assertRefused(
    t,
    verifier().verify(await signToken(es256, { ...claims, exp: NOW + 86_400 })),
    'token_lifetime_too_long',
    /^the token is valid for 86460 seconds, longer than the 86400 seconds accepted from this issuer$/,
  )
  await assertRefused(
    t,
    verifier().verify(await signToken(es256, { ...claims, iat: undefined, nbf: NOW - 10, exp: NOW + 86_391 })),
    'token_lifetime_too_long',
    /valid for 86401 seconds/,
  )
  await assertRefused(
    t,
    verifier().verify(await signToken(es256, { ...claims, iat: undefined, exp: NOW + 86_401 })),
    'token_lifetime_too_long',
    /valid for 86401 seconds/,
  )
  t.ok(await verifier().verify(await signToken(es256, { ...claims, iat: NOW, exp: NOW + 86_400 })), 'exactly the maximum is accepted')
})

t.test('refuses algorithms outside the allow-list, naming them', async (t) => {
  const none = `${b64(JSON.stringify({ alg: 'none' }))}.${b64(JSON.stringify(claims))}.`
  await assertRefused(t, verifier().verify(none), 'attestation_malformed', /not a JWT: each part must be non-empty base64url/)
  const noneWithSignature = `${b64(JSON.stringify({ alg: 'none' }))}.${b64(JSON.stringify(claims))}.${b64('x')}`
  await assertRefused(
    t,
    verifier().verify(noneWithSignature),
    'algorithm_not_accepted',
    /^the token algorithm "none" is not accepted \(accepted: RS256, .*EdDSA\)$/,
  )
  await assertRefused(
    t,
    verifier({ algorithms: ['RS256'] }).verify(await signToken(es256, claims)),
    'algorithm_not_accepted',
    /^the token algorithm "ES256" is not accepted \(accepted: RS256\)$/,
  )
  await assertRefused(
    t,
    verifier().verify(handSign(es256, { kid: 'ec-1' }, claims)),
    'algorithm_not_accepted',
    /algorithm \(none\) is not accepted/,
  )
  const long = await assertRefused(
    t,
    verifier().verify(handSign(es256, { alg: 'X'.repeat(5000) }, claims)),
    'algorithm_not_accepted',
    /algorithm "XXXX.*…" \(5000 characters\) is not accepted/,
  )
  t.notMatch(long.message, /X{33}/, 'the long alg is truncated')
})

t.test('refuses HS256 signed with the public key bytes (key confusion)', async (t) => {
  const { createPublicKey } = await import('node:crypto')
  const input = `${b64(JSON.stringify({ alg: 'HS256', kid: 'rsa-1' }))}.${b64(JSON.stringify(claims))}`
  const keyBytes = [
    createPublicKey({ key: rsa.jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }),
    JSON.stringify(rsa.jwk),
  ]
  for (const secret of keyBytes) {
    const forged = `${input}.${b64(createHmac('sha256', secret).update(input).digest())}`
    await assertRefused(t, verifier().verify(forged), 'algorithm_not_accepted', /^the token algorithm "HS256" is not accepted/)
  }
})

t.test('never trusts or fetches a key named by the token', async (t) => {
  const fetcher = countingFetcher(jwks(es256))
  const remote = new RemoteKeySet({
    issuer: ISSUER,
    uri: 'https://k8s.example.test/openid/v1/jwks',
    fetch: fetcher.fetch,
    clock: frozenClock(),
    cacheSeconds: 300,
    refreshCooldownSeconds: 0,
  })
  const attacker = await makeKey('ES256', 'attacker')
  const headers: Record<string, unknown>[] = [
    { jwk: attacker.jwk },
    { jku: 'https://evil.test/jwks.json' },
    { x5u: 'https://evil.test/cert.pem' },
    { x5c: ['MIIB'] },
  ]
  for (const extra of headers) {
    const name = Object.keys(extra)[0]
    const token = handSign(attacker, { alg: 'ES256', kid: 'attacker', ...extra }, claims)
    await assertRefused(
      t,
      verifier({}, remote).verify(token),
      'header_not_accepted',
      new RegExp(`^the token names its own key \\("${name}" header\\)`),
    )
  }
  await assertRefused(
    t,
    verifier({}, remote).verify(handSign(es256, { alg: 'ES256', kid: 'ec-1', crit: ['foo'], foo: 1 }, claims)),
    'header_not_accepted',
    /^the token has a "crit" header; no JWS extensions are supported$/,
  )
  await assertRefused(
    t,
    verifier({}, remote).verify(handSign(es256, { alg: 'ES256', kid: 'ec-1', b64: false, crit: ['b64'] }, claims)),
    'header_not_accepted',
    /"crit" header/,
  )
  await assertRefused(
    t,
    verifier({}, remote).verify(handSign(es256, { alg: 'ES256', kid: 'ec-1', b64: true }, claims)),
    'header_not_accepted',
    /"b64" header/,
  )
  t.same(fetcher.calls, [], 'the JWKS was never fetched')
})

t.test('refuses malicious key ids before any key lookup', async (t) => {
  const fetcher = countingFetcher(jwks(es256))
  const remote = new RemoteKeySet({
    issuer: ISSUER,
    uri: 'https://k8s.example.test/openid/v1/jwks',
    fetch: fetcher.fetch,
    clock: frozenClock(),
    cacheSeconds: 300,
    refreshCooldownSeconds: 0,
  })
  const kids: unknown[] = [
    '../../etc/passwd',
    "' OR 1=1 --",
    'k'.repeat(10_240),
    'a..b',
    '',
    42,
    { $ne: null },
    'kid\u0000',
    'https://evil.test/key',
  ]
  for (const kid of kids) {
    const error = await assertRefused(
      t,
      verifier({ maxBytes: 1_000_000 }, remote).verify(handSign(es256, { alg: 'ES256', kid }, claims)),
      'header_not_accepted',
      /^the token key id .* is not valid \(at most 128 of A-Z a-z 0-9 _ = \+ \. -\)$/,
    )
    t.ok(error.message.length < 200, `kid of ${String(kid).length} characters gives a short description`)
  }
  t.same(fetcher.calls, [], 'the JWKS was never fetched')
  t.ok(
    await verifier({}, keySet).verify(handSign(es256, { alg: 'ES256', kid: 'ec-1' }, claims)),
    'the hand-signed tokens are otherwise good',
  )
})

t.test('refuses what is not a compact JWS', async (t) => {
  const good = await signToken(es256, claims)
  const [h, p, s] = good.split('.') as [string, string, string]
  await assertRefused(
    t,
    verifier().verify(`${h}.${b64('key')}.${b64('iv')}.${b64('ciphertext')}.${b64('tag')}`),
    'header_not_accepted',
    /^encrypted tokens \(JWE\) are not accepted$/,
  )
  await assertRefused(
    t,
    verifier().verify(`${h}.${p}`),
    'attestation_malformed',
    /^the attestation is not a JWT: expected 3 parts separated by dots, found 2$/,
  )
  await assertRefused(t, verifier().verify(`${h}.${p}.${s}.${s}`), 'attestation_malformed', /found 4/)
  await assertRefused(t, verifier().verify('not a token at all'), 'attestation_malformed', /found 1/)
  await assertRefused(t, verifier().verify(''), 'attestation_malformed', /^the attestation is empty$/)
  await assertRefused(t, verifier().verify(`${h}.${p}$.${s}`), 'attestation_malformed', /each part must be non-empty base64url/)
  await assertRefused(t, verifier().verify(`${h}.${p}=.${s}`), 'attestation_malformed', /each part must be non-empty base64url/)
  await assertRefused(t, verifier().verify(`${h}.${p}.${s}é`), 'attestation_malformed', /each part must be non-empty base64url/)
  await assertRefused(
    t,
    verifier({ maxBytes: good.length - 1 }).verify(good),
    'attestation_too_large',
    /^the attestation is larger than \d+ bytes$/,
  )
  await assertRefused(t, verifier().verify(`${h}.${p}${'A'.repeat(20_000)}.${s}`), 'attestation_too_large', /larger than 16384 bytes/)
  await assertRefused(t, verifier().verify(`${b64('{"alg":')}.${p}.${s}`), 'attestation_malformed', /^the token header is not valid JSON$/)
  await assertRefused(
    t,
    verifier().verify(`${b64('["ES256"]')}.${p}.${s}`),
    'attestation_malformed',
    /^the token header is not a JSON object$/,
  )
  await assertRefused(
    t,
    verifier().verify(handSign(es256, { alg: 'ES256', kid: 'ec-1' }, 'not json')),
    'attestation_malformed',
    /^the token payload is not valid JSON$/,
  )
  await assertRefused(
    t,
    verifier().verify(handSign(es256, { alg: 'ES256', kid: 'ec-1' }, '[1,2]')),
    'attestation_malformed',
    /^the token payload is not a JSON object$/,
  )
  await assertRefused(
    t,
    verifier().verify(handSign(es256, { alg: 'ES256', kid: 'ec-1' }, 'null')),
    'attestation_malformed',
    /payload is not a JSON object/,
  )
})

t.test('refuses a part that is not canonical base64url: one token, one spelling', async (t) => {
  // A `sub` long enough that the payload, like the header and the signature, ends in a partial group.
  let good = ''
  for (let extra = 0; good === '' || good.split('.')[1].length % 4 === 0; extra++)
    good = await signToken(es256, { ...claims, sub: `workload${'-'.repeat(extra)}` })
  const [h, p, s] = good.split('.') as [string, string, string]
  // Flip a spare bit of the last character: the decoder ignores it, the bytes are the same.
  const respell = (part: string): string => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    // The lowest bit of a partial last group is always spare.
    return `${part.slice(0, -1)}${alphabet[alphabet.indexOf(part.at(-1)!) ^ 1]}`
  }
  const parts = { header: h, payload: p, signature: s }
  for (const name of ['header', 'payload', 'signature'] as const) {
    const part = parts[name]
    t.not(part.length % 4, 0, `the ${name} has spare bits to flip`)
    const other = respell(part)
    t.same(Buffer.from(other, 'base64url'), Buffer.from(part, 'base64url'), `the respelled ${name} decodes to the same bytes`)
    const token = Object.values({ ...parts, [name]: other }).join('.')
    await assertRefused(
      t,
      verifier().verify(token),
      'attestation_malformed',
      new RegExp(`^the attestation is not a JWT: its ${name} is not canonical base64url \\(its unused trailing bits must be zero\\)$`),
    )
  }
  // A lone trailing character carries no whole byte: the decoder drops it.
  t.equal(`${s}AAA`.length % 4, 1)
  await assertRefused(t, verifier().verify(`${h}.${p}.${s}AAA`), 'attestation_malformed', /its signature is not canonical base64url/)
  t.ok(await verifier().verify(good), 'the canonical spelling is accepted')
})

t.test('lets the caller inspect the payload once the signature verifies, before the claim checks', async (t) => {
  const seen: unknown[] = []
  const token = await signToken(es256, { ...claims, exp: NOW - 3600, legacy: true })
  const inspect = (payload: Record<string, unknown>): void => {
    seen.push(payload.legacy)
    if (payload.legacy === true) throw new InvalidGrantError('legacy tokens are refused', 'token_kind_not_accepted')
  }
  await assertRefused(t, verifier().verify(token, inspect), 'token_kind_not_accepted', /^legacy tokens are refused$/)
  t.same(seen, [true])
  await assertRefused(
    t,
    verifier().verify(await signToken(impostor, { ...claims, legacy: true }), inspect),
    'signature_invalid',
    /^the token signature is invalid$/,
  )
  t.same(seen, [true], 'a payload whose signature fails is never shown to the caller')
})

t.test('signatures are compared before the claim set (as in jose)', async (t) => {
  // `impostor` signs under the kid of a trusted key: the header passes, the signature cannot.
  const forged: [string, string][] = [
    ['a wrong issuer', await signToken(impostor, { ...claims, iss: 'https://evil.test' })],
    ['a wrong audience', await signToken(impostor, { ...claims, aud: 'evil-audience' })],
    ['no audience', await signToken(impostor, { ...claims, aud: undefined })],
    ['no expiry', await signToken(impostor, { ...claims, exp: undefined })],
    ['an expiry long past', await signToken(impostor, { ...claims, iat: NOW - 7200, exp: NOW - 3600 })],
    ['a not-before in the future', await signToken(impostor, { ...claims, nbf: NOW + 3600 })],
    ['an issue time in the future', await signToken(impostor, { ...claims, iat: NOW + 3600 })],
    ['too long a lifetime', await signToken(impostor, { ...claims, exp: NOW + 10 * 86_400 })],
    [
      'an expiry that is not a number',
      handSign(impostor, { alg: 'ES256', kid: 'ec-1' }, `{"iss":"${ISSUER}","aud":"${AUDIENCE}","exp":1e400}`),
    ],
    [
      'a payload of nothing but bad claims',
      handSign(impostor, { alg: 'ES256', kid: 'ec-1' }, { iss: 7, aud: ['x', 8], exp: 'soon', nbf: null }),
    ],
  ]
  for (const [what, token] of forged) {
    await assertRefused(t, verifier().verify(token), 'signature_invalid', /^the token signature is invalid$/, InvalidGrantError)
    t.pass(`refused for its signature, not for ${what}`)
  }
  // The cheap checks of the header's form still come first: no key is looked up for them.
  const fetcher = countingFetcher(jwks(es256))
  const remote = new RemoteKeySet({
    issuer: ISSUER,
    uri: 'https://k8s.example.test/openid/v1/jwks',
    fetch: fetcher.fetch,
    clock: frozenClock(),
    cacheSeconds: 300,
    refreshCooldownSeconds: 0,
  })
  await assertRefused(
    t,
    verifier({ algorithms: ['RS256'] }, remote).verify(await signToken(impostor, { ...claims, iss: 'https://evil.test' })),
    'algorithm_not_accepted',
    /^the token algorithm "ES256" is not accepted/,
  )
  await assertRefused(
    t,
    verifier({}, remote).verify(handSign(impostor, { alg: 'ES256', kid: '../x' }, { ...claims, exp: 0 })),
    'header_not_accepted',
    /^the token key id "..\/x" is not valid/,
  )
  t.same(fetcher.calls, [], 'no key was looked up for a header refused by its form')
})

t.test('untrustedIssuerOf reads iss without verifying, for routing', async (t) => {
  const decodeUntrustedIssuer = (token: string, maxBytes: number) => untrustedIssuerOf(parseUntrustedJwt(token, maxBytes))
  t.equal(decodeUntrustedIssuer(await signToken(impostor, claims), 16_384), ISSUER)
  const error = (fn: () => unknown): Error => {
    try {
      fn()
    } catch (caught) {
      return caught as Error
    }
    throw new Error('expected a throw')
  }
  const noIss = handSign(es256, { alg: 'ES256' }, { aud: AUDIENCE })
  t.type(
    error(() => decodeUntrustedIssuer(noIss, 16_384)),
    InvalidGrantError,
  )
  t.match(
    error(() => decodeUntrustedIssuer(noIss, 16_384)),
    { code: 'invalid_grant', reason: 'claim_missing', message: 'the token has no issuer ("iss" is (none))' },
  )
  t.match(
    error(() => decodeUntrustedIssuer(handSign(es256, { alg: 'ES256' }, { iss: 7 }), 16_384)),
    { message: 'the token has no issuer ("iss" is (a number))' },
  )
  t.match(
    error(() => decodeUntrustedIssuer('a.b.c.d.e', 16_384)),
    { code: 'invalid_grant', reason: 'header_not_accepted', message: 'encrypted tokens (JWE) are not accepted' },
  )
  t.match(
    error(() => decodeUntrustedIssuer(noIss, 10)),
    { code: 'invalid_grant', reason: 'attestation_too_large', message: 'the attestation is larger than 10 bytes' },
  )
})
