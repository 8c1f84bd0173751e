import { generateKeyPairSync } from 'node:crypto'
import { exportJWK, jwtVerify, decodeProtectedHeader } from 'jose'
import t from 'tap'
import { signWith } from '../support/signing.js'

const claims = {
  iss: 'https://sts.example.org',
  sub: 'spiffe://example.org/k8s/prod/ns/payments/sa/api',
  aud: 'ledger-api',
  exp: 1_795_000_300,
  iat: 1_795_000_000,
  nbf: 1_795_000_000,
  jti: '2f0c6d1e-0000-4000-8000-000000000001',
  client_id: 'spiffe://example.org/k8s/prod/ns/payments/sa/api',
  scope: 'ledger:read',
  grants: ['0b8f3c2e-0000-4000-8000-000000000000'],
  src_h: ['Yk2mNn3ZP9m5cN7dQ0lmvRzZ8Q2jK6bqX1oWmE4aT0c'],
}

for (const [alg, pair] of [
  ['ES256', generateKeyPairSync('ec', { namedCurve: 'P-256' })],
  ['EdDSA', generateKeyPairSync('ed25519')],
] as const) {
  t.test(`${alg} access tokens verify with a standard JOSE library`, async (t) => {
    const token = await signWith(pair.privateKey, 'key-1', alg, claims)
    t.same(decodeProtectedHeader(token), { alg, typ: 'at+jwt', kid: 'key-1' })
    const publicJwk = await exportJWK(pair.publicKey)
    const { payload } = await jwtVerify(token, { ...publicJwk, alg } as never, { currentDate: new Date(1_795_000_100_000), typ: 'at+jwt' })
    t.same(payload, claims)

    const [header, body] = token.split('.')
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    await t.rejects(
      jwtVerify(
        `${header}.${body}.${(await signWith(other.privateKey, 'k', 'ES256', claims)).split('.')[2]}`,
        { ...publicJwk, alg } as never,
        { currentDate: new Date(1_795_000_100_000) },
      ),
    )
  })
}
