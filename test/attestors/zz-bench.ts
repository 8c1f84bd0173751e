import { jwtVerify, createLocalJWKSet } from 'jose'
import { StaticKeySet } from '../../src/attestors/jwks-key-set.js'
import { JwtVerifier } from '../../src/attestors/jwt-verifier.js'
import { frozenClock, jwks, makeKey, signToken, ISSUER, AUDIENCE, NOW } from '../fixtures/attestors/helpers.js'
for (const alg of ['ES256', 'RS256', 'EdDSA'] as const) {
  const key = await makeKey(alg, 'k')
  const token = await signToken(key, { iss: ISSUER, aud: AUDIENCE, iat: NOW, exp: NOW + 600 })
  const v = new JwtVerifier({ issuer: ISSUER, audience: AUDIENCE, algorithms: [alg], maxLifetimeSeconds: 3600, skewSeconds: 60, maxBytes: 16384 }, new StaticKeySet(ISSUER, jwks(key), 't'), frozenClock())
  const N = 5000
  for (let i = 0; i < 500; i++) await v.verify(token)
  let s = performance.now(); for (let i = 0; i < N; i++) await v.verify(token); const ours = (performance.now() - s) / N
  const set = createLocalJWKSet(jwks(key))
  for (let i = 0; i < 500; i++) await jwtVerify(token, set, { currentDate: new Date(NOW * 1000) })
  s = performance.now(); for (let i = 0; i < N; i++) await jwtVerify(token, set, { issuer: ISSUER, audience: AUDIENCE, currentDate: new Date(NOW * 1000) }); const jose = (performance.now() - s) / N
  console.log(alg, 'ours', (ours * 1000).toFixed(1), 'us', 'jose', (jose * 1000).toFixed(1), 'us')
}
