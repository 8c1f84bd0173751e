import { generateKeyPairSync } from 'node:crypto'
import { calculateJwkThumbprint, compactVerify, importJWK } from 'jose'
import t, { type Test } from 'tap'
import { ConfigError } from '../../src/config-error.js'
import { ServiceUnavailableError } from '../../src/errors.js'
import { KeyDecryptionError } from '../../src/keys/key-encryption.js'
import { decodeKeyReference, encodeKeyReference } from '../../src/keys/pkcs11/key-reference.js'
import { UNAVAILABLE } from '../../src/keys/pkcs11/pkcs11-token.js'
import { openPkcs11Signer, type Pkcs11Signer } from '../../src/keys/pkcs11/pkcs11-signer.js'
import type { NewKey } from '../../src/keys/signer.js'
import type { SigningAlgorithm, SigningKey } from '../../src/keys/signing-key.js'
import { createLogger } from '../../src/lib/logger.js'
import { deletePrivateKey, finalizeModule, privateKeyFacts, slotOf, softHsmToken, type SoftHsmToken } from '../support/softhsm.js'

/**
 * The PKCS#11 signer against a real SoftHSM2 token, one token per test: keys made inside it and never
 * readable, signatures jose verifies with the published key, PEM keys imported, keys the token does
 * not have refused on open, token faults answered 503 and cured by reconnecting, and the settings an
 * operator gets wrong named at start.
 */

const SETTINGS = { sessions: 2, timeoutMs: 5000 }

async function open(t: Test, token: SoftHsmToken, algorithm: SigningAlgorithm = 'ES256', lines: string[] = []): Promise<Pkcs11Signer> {
  const logger = createLogger('info', { write: (line: string) => lines.push(line) })
  // No wait between reconnections: the tests take the token away and give it back at once.
  const signer = await openPkcs11Signer({ ...token.config, ...SETTINGS }, algorithm, logger, { retryAfterMs: 0 })
  t.teardown(() => signer.close())
  return signer
}

/** The keys table's row for a key just made. */
function row(key: NewKey): SigningKey {
  const at = new Date(0)
  return {
    ...key,
    state: 'current',
    signer: 'pkcs11',
    origin: 'generated',
    createdAt: at,
    publishedAt: at,
    activatedAt: at,
    retiredAt: null,
    removeAfter: null,
    removedAt: null,
    revokedAt: null,
    revokedBy: null,
    revokeReason: null,
  }
}

/** A JWS signed through the signer, verified by jose with the published key alone. */
async function signedAndVerified(signer: Pkcs11Signer, key: NewKey, payload: string): Promise<string> {
  const input = `${Buffer.from(JSON.stringify({ alg: key.alg, kid: key.kid })).toString('base64url')}.${Buffer.from(payload).toString('base64url')}`
  const signature = Buffer.from(await signer.sign(key.kid, Buffer.from(input))).toString('base64url')
  const verified = await compactVerify(`${input}.${signature}`, await importJWK(key.publicJwk, key.alg))
  return Buffer.from(verified.payload).toString()
}

function idOf(key: NewKey): Buffer {
  return decodeKeyReference(key.privateKey)!.id
}

t.test('a key made in the token cannot be read out, and its row holds only a reference to it', async (t) => {
  const token = softHsmToken(t)
  const signer = await open(t, token)
  const key = await signer.generate('ES256')
  t.match(key.privateKey.toString(), /^pkcs11:token=seed-sts;id=(%[0-9a-f]{2}){16};type=private$/, 'a PKCS#11 URI, nothing else')
  t.equal(key.kekId, null)
  t.equal(key.kid, await calculateJwkThumbprint(key.publicJwk, 'sha256'), 'the kid is the thumbprint of the public key')
  t.same(Object.keys(key.publicJwk).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y'], 'the public JWK: no private member')
  t.same(privateKeyFacts(token, idOf(key)), {
    value: 'CKR_ATTRIBUTE_SENSITIVE',
    sensitive: true,
    extractable: false,
    alwaysSensitive: true,
    neverExtractable: true,
    label: `seed-sts ${key.kid}`,
  })
})

t.test('ES256 and EdDSA: signed in the token, verified by jose with the published key', async (t) => {
  const token = softHsmToken(t)
  for (const alg of ['ES256', 'EdDSA'] as const) {
    const signer = await open(t, token, alg)
    const key = await signer.generate(alg)
    t.equal(key.publicJwk.kty, alg === 'ES256' ? 'EC' : 'OKP')
    await signer.open(row(key))
    t.equal(await signedAndVerified(signer, key, `{"sub":"${alg}"}`), `{"sub":"${alg}"}`, alg)
    await signer.close()
  }
})

t.test('a PEM key of an earlier release imported into the token signs as itself, and cannot be read out', async (t) => {
  const token = softHsmToken(t)
  const signer = await open(t, token)
  for (const privateKey of [generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, generateKeyPairSync('ed25519').privateKey]) {
    const key = await signer.importPrivateKey(privateKey)
    const publicJwk = privateKey.export({ format: 'jwk' })
    t.equal(key.kid, await calculateJwkThumbprint({ ...publicJwk, d: undefined }, 'sha256'), 'its kid as the release before published it')
    t.equal(key.publicJwk.d, undefined)
    await signer.open(row(key))
    t.equal(await signedAndVerified(signer, key, '{}'), '{}', key.alg)
    // It existed in the clear before, so the token does not call it always sensitive, nor never extractable.
    t.same(privateKeyFacts(token, idOf(key)), {
      value: 'CKR_ATTRIBUTE_SENSITIVE',
      sensitive: true,
      extractable: false,
      alwaysSensitive: false,
      neverExtractable: false,
      label: `seed-sts ${key.kid}`,
    })
  }
})

t.test('a key the token does not hold is refused when opened, naming why', async (t) => {
  const token = softHsmToken(t)
  const signer = await open(t, token)
  const [key, other] = [await signer.generate('ES256'), await signer.generate('ES256')]
  const refusal = async (changed: Partial<SigningKey>) => {
    const error = await signer.open({ ...row(key), ...changed }).then(
      () => undefined,
      (caught: unknown) => caught,
    )
    t.type(error, KeyDecryptionError)
    return (error as Error).message
  }
  t.equal(
    await refusal({ privateKey: encodeKeyReference({ token: 'other-hsm', id: idOf(key) }) }),
    `signing key ${key.kid} is in the PKCS#11 token "other-hsm", and the token configured is "seed-sts": set keys.pkcs11 to the token the keys were made in`,
  )
  t.equal(
    await refusal({ privateKey: Buffer.from([1, 2, 3]) }),
    `signing key ${key.kid} has no PKCS#11 reference in its row: it is not a key this signer made`,
  )
  t.equal(
    await refusal({ publicJwk: other.publicJwk }),
    `signing key ${key.kid}: the token's key with its CKA_ID is not the private half of the published key`,
  )
  deletePrivateKey(token, idOf(key))
  t.equal(
    await refusal({}),
    `signing key ${key.kid} is not in the PKCS#11 token "seed-sts" (no private key has its CKA_ID ${idOf(key).toString('hex')}): ` +
      'it was deleted, or this is another token with the same label',
  )
  // And it never signs.
  await t.rejects(
    signer.sign(key.kid, Buffer.from('x')),
    new ServiceUnavailableError(`signing key ${key.kid} is no longer available to sign with`, 'keys_stale'),
  )
})

t.test('the token taken away: 503 signer_unavailable while it is gone, signing again once it is back', async (t) => {
  const token = softHsmToken(t)
  const lines: string[] = []
  const signer = await open(t, token, 'ES256', lines)
  const key = await signer.generate('ES256')
  await signer.open(row(key))
  t.equal(await signedAndVerified(signer, key, 'before'), 'before')

  token.remove()
  for (const attempt of [1, 2]) {
    const error = (await signer.sign(key.kid, Buffer.from('while gone')).then(
      () => undefined,
      (caught: unknown) => caught,
    )) as ServiceUnavailableError
    t.type(error, ServiceUnavailableError, `attempt ${attempt}`)
    t.same([error.reason, error.message], ['signer_unavailable', UNAVAILABLE], 'the client is told that, not the detail')
    t.match((error.cause as Error).message, /^the PKCS#11 token "seed-sts" cannot be reconnected: C_\w+: CKR_\w+$/, 'the log is')
  }

  token.restore()
  t.equal(await signedAndVerified(signer, key, 'after'), 'after', 'signs again without a restart')
  const messages = lines.map((line) => JSON.parse(line) as { msg: string; fault?: string })
  t.match(messages, [
    { msg: /^signing keys in a PKCS#11 token$/ },
    { msg: /^the PKCS#11 token "seed-sts" failed to sign: C_SignInit: CKR_OBJECT_HANDLE_INVALID; reconnecting$/ },
    { msg: /^the PKCS#11 token "seed-sts" cannot be reconnected: / },
  ])
  t.match(messages.at(-1), { msg: 'reconnected to the PKCS#11 token' })
})

t.test('the module finalized under the signer: the same call reconnects and signs', async (t) => {
  const token = softHsmToken(t)
  const lines: string[] = []
  const signer = await open(t, token, 'EdDSA', lines)
  const key = await signer.generate('EdDSA')
  await signer.open(row(key))
  finalizeModule(token)
  t.equal(await signedAndVerified(signer, key, 'after a reset'), 'after a reset', 'no 503: a second try on a new connection')
  t.match(
    lines.map((line) => (JSON.parse(line) as { msg: string }).msg),
    [
      'signing keys in a PKCS#11 token',
      /failed to sign: C_\w+: CKR_CRYPTOKI_NOT_INITIALIZED; reconnecting$/,
      'reconnected to the PKCS#11 token',
    ],
  )
})

t.test('fifty signatures at once through two sessions: every one verifies', async (t) => {
  const token = softHsmToken(t)
  const signer = await open(t, token)
  const key = await signer.generate('ES256')
  await signer.open(row(key))
  const payloads = Array.from({ length: 50 }, (_, index) => `token ${index}`)
  t.same(await Promise.all(payloads.map((payload) => signedAndVerified(signer, key, payload))), payloads)
})

t.test('opening the token: what the operator must fix is a ConfigError naming the setting', async (t) => {
  const token = softHsmToken(t)
  const logger = createLogger('silent')
  const problems = async (config: Partial<SoftHsmToken['config']> & { slot?: number }, algorithm: SigningAlgorithm = 'ES256') => {
    const error = await openPkcs11Signer({ ...token.config, ...SETTINGS, ...config }, algorithm, logger).then(
      async (signer) => {
        await signer.close()
        return undefined
      },
      (caught: unknown) => caught,
    )
    t.type(error, ConfigError)
    return (error as ConfigError).problems
  }
  t.same(await problems({ pin: 'wrong-pin' }), [
    'keys.pkcs11.pin: the PKCS#11 token "seed-sts" refused the PIN (C_Login: CKR_PIN_INCORRECT): ' +
      'check STS_PKCS11_PIN or keys.pkcs11.pinFile (a few wrong tries lock the PIN)',
  ])
  t.match(await problems({ tokenLabel: 'no-such-token' }), [
    /^keys\.pkcs11\.tokenLabel: no token labelled "no-such-token" in \/usr\/lib\/softhsm\/libsofthsm2\.so; the tokens present: "seed-sts" \(slot \d+\)/,
  ])
  t.match(await problems({ module: '/nonexistent/libpkcs11.so' }), [
    /^keys\.pkcs11\.module: \/nonexistent\/libpkcs11\.so cannot be loaded as a PKCS#11 module: .*No such file or directory/,
  ])

  const bySlot = await openPkcs11Signer({ module: token.module, slot: slotOf(token), pin: token.pin, ...SETTINGS }, 'ES256', logger)
  const key = await bySlot.generate('ES256')
  t.match(key.privateKey.toString(), /^pkcs11:token=seed-sts;/, 'named by its slot, the token is still referenced by its label')
  await bySlot.close()
})
