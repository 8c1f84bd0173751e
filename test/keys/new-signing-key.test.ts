import { createPublicKey, verify } from 'node:crypto'
import t from 'tap'
import { newSigningKey } from '../../src/keys/key-service.js'
import type { NewKey } from '../../src/keys/signer.js'
import type { AccessTokenClaims } from '../../src/tokens/access-token.js'
import { benchSigningKey } from '../../scripts/bench/ceiling.js'

/** The one way a key just made or imported becomes a row: the key service and the benchmarks share it. */

const NOW = new Date(Date.UTC(2026, 10, 23, 12, 0, 0))
const MADE: NewKey = {
  kid: 'kid-1',
  alg: 'ES256',
  publicJwk: { kty: 'EC', kid: 'kid-1', alg: 'ES256', use: 'sig' },
  privateKey: Buffer.from('sealed'),
  kekId: 'kek-1',
}

const never = { retiredAt: null, removeAfter: null, removedAt: null, revokedAt: null, revokedBy: null, revokeReason: null }

t.test('a current or retired key signs (or signed) from now; a next key has not signed yet', async (t) => {
  t.same(newSigningKey(MADE, 'software', 'generated', 'current', NOW), {
    ...MADE,
    state: 'current',
    signer: 'software',
    origin: 'generated',
    createdAt: NOW,
    publishedAt: NOW,
    activatedAt: NOW,
    ...never,
  })
  t.same(newSigningKey(MADE, 'software', 'generated', 'next', NOW), {
    ...MADE,
    state: 'next',
    signer: 'software',
    origin: 'generated',
    createdAt: NOW,
    publishedAt: NOW,
    activatedAt: null,
    ...never,
  })
  t.same(newSigningKey(MADE, 'pkcs11', 'imported', 'retired', NOW), {
    ...MADE,
    state: 'retired',
    signer: 'pkcs11',
    origin: 'imported',
    createdAt: NOW,
    publishedAt: NOW,
    activatedAt: NOW,
    ...never,
  })
})

t.test("the benchmark's signing key, made with it, signs tokens its public key verifies", async (t) => {
  const { signer, key, privateKey } = await benchSigningKey()
  const claims = { iss: 'https://sts.test.example', sub: 'spiffe://example.org/w', aud: 'a', iat: 1, exp: 2, jti: 'j' }
  const token = await signer.sign(key, claims as AccessTokenClaims)
  const [header = '', payload = '', signature = ''] = token.split('.')
  t.same(JSON.parse(Buffer.from(header, 'base64url').toString()), { alg: 'ES256', typ: 'at+jwt', kid: key.kid })
  t.same(JSON.parse(Buffer.from(payload, 'base64url').toString()), claims)
  const valid = verify(
    'sha256',
    Buffer.from(`${header}.${payload}`),
    { key: createPublicKey(privateKey), dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'),
  )
  t.ok(valid, 'the signature verifies')
})
