import { generateKeyPairSync, sign } from 'node:crypto'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from 'jose'
import t from 'tap'
import { InvalidDpopProofError } from '../../src/errors.js'
import type { JwsAlgorithm } from '../../src/jose/algorithms.js'
import { untrustedHeaderOf, verifiedProof } from '../../src/dpop/proof-signature.js'

/** The proof's signature and key, checked with node:crypto: the same thumbprints as jose's, and every fault refused by name. */

const CLAIMS = { jti: 'j', htm: 'POST', htu: 'https://sts.test.example/oauth2/token', iat: 1_800_000_000 }

async function proofOf(alg: string, header: Record<string, unknown> = {}, claims: object = CLAIMS) {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const jwk = await exportJWK(publicKey)
  const proof = await new SignJWT({ ...claims })
    .setProtectedHeader({ alg, typ: 'dpop+jwt', jwk, ...header } as { alg: string })
    .sign(privateKey)
  return { proof, jwk, privateKey }
}

function check(proof: string, alg: string) {
  const header = untrustedHeaderOf(proof)
  return verifiedProof(proof, header, alg as JwsAlgorithm, header.jwk as object)
}

t.test('a proof of each kind of key verifies, and its thumbprint is RFC 7638 as jose computes it', async (t) => {
  for (const alg of ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256']) {
    const { proof, jwk } = await proofOf(alg)
    t.same(check(proof, alg), { payload: CLAIMS, jkt: await calculateJwkThumbprint(jwk, 'sha256') }, alg)
  }
})

t.test('every fault of the key or the signature is refused, naming it', async (t) => {
  const es = await proofOf('ES256')
  const ed = await proofOf('EdDSA')
  const smallRsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
  const smallJwk = smallRsa.publicKey.export({ format: 'jwk' })
  // jose will not sign with it: signed here with node:crypto, RS256 (PKCS #1 v1.5, SHA-256).
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const smallInput = `${part({ alg: 'RS256', typ: 'dpop+jwt', jwk: smallJwk })}.${part(CLAIMS)}`
  const small = `${smallInput}.${sign('sha256', Buffer.from(smallInput), smallRsa.privateKey).toString('base64url')}`
  const [header, payload, signature] = es.proof.split('.') as [string, string, string]
  const notObject = Buffer.from('[1]').toString('base64url')
  const tampered = `${header}.${Buffer.from(JSON.stringify({ ...CLAIMS, htm: 'GET' })).toString('base64url')}.${signature}`
  const cases: Array<[string, () => unknown, string]> = [
    [
      'crit',
      () =>
        check(
          `${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(header, 'base64url').toString()), crit: ['x'] })).toString('base64url')}.${payload}.${signature}`,
          'ES256',
        ),
      "the DPoP proof's header has crit: no extension is accepted",
    ],
    [
      'an Ed25519 key for ES256',
      () => verifiedProof(es.proof, untrustedHeaderOf(es.proof), 'ES256', ed.jwk),
      "the DPoP proof's jwk is a EdDSA key, which cannot verify ES256",
    ],
    ['a P-256 key for ES384', () => check(es.proof, 'ES384'), "the DPoP proof's jwk is a P-256 key, which cannot verify ES384"],
    ['an RSA key of 1024 bits', () => check(small, 'RS256'), "the DPoP proof's RSA key is shorter than 2048 bits"],
    [
      'a jwk that is no key',
      () => verifiedProof(es.proof, untrustedHeaderOf(es.proof), 'ES256', { kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA' }),
      "the DPoP proof's jwk is not a usable public key",
    ],
    ['claims changed after signing', () => check(tampered, 'ES256'), "the DPoP proof's signature does not verify with its jwk"],
    [
      'a header that is not a JSON object',
      () => untrustedHeaderOf(`${notObject}.${payload}.${signature}`),
      'the DPoP proof has no readable JOSE header',
    ],
  ]
  for (const [what, run, message] of cases) {
    let thrown: unknown
    try {
      run()
    } catch (error) {
      thrown = error
    }
    t.ok(thrown instanceof InvalidDpopProofError, what)
    t.match((thrown as Error | undefined)?.message, message, what)
  }
})

t.test('claims that are not a JSON object are refused once the signature verifies', async (t) => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const jwk = await exportJWK(publicKey)
  const { CompactSign } = await import('jose')
  const proof = await new CompactSign(new TextEncoder().encode('"a string"'))
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk } as { alg: string })
    .sign(privateKey)
  t.throws(() => check(proof, 'ES256'), new InvalidDpopProofError("the DPoP proof's claims are not a JSON object"))
})

t.test('the thumbprint is of the members as the jwk spells them, as its holder and jose compute it', async (t) => {
  // A modulus with a leading zero byte (some encoders add one) is the same key; its thumbprint is not
  // the re-encoded key's, and the holder's (and every verifier's) is of what it sent.
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const exported = publicKey.export({ format: 'jwk' })
  const padded = {
    kty: 'RSA',
    e: exported.e,
    n: Buffer.concat([Buffer.alloc(1), Buffer.from(exported.n!, 'base64url')]).toString('base64url'),
  }
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url')
  const input = `${part({ alg: 'RS256', typ: 'dpop+jwt', jwk: padded })}.${part(CLAIMS)}`
  const proof = `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`
  t.equal(check(proof, 'RS256').jkt, await calculateJwkThumbprint(padded as object, 'sha256'))

  // node:crypto makes no such key; the size is refused before any signature is looked at.
  const hugeJwk = { kty: 'RSA', n: exported.n, e: Buffer.from([1, 0, 0, 0, 1]).toString('base64url') }
  const hugeProof = `${part({ alg: 'RS256', typ: 'dpop+jwt', jwk: hugeJwk })}.${part(CLAIMS)}.AAAA`
  t.throws(
    () => check(hugeProof, 'RS256'),
    new InvalidDpopProofError("the DPoP proof's RSA key is larger than accepted (at most 8192 bits, exponent at most 2^32)"),
    'a public exponent past 2^32, which makes every check slow, is refused',
  )
})
