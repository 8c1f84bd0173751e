import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose'
import t, { type Test } from 'tap'
import { KeyDecryptionError } from '../../src/keys/key-encryption.js'
import { decodeKeyReference } from '../../src/keys/pkcs11/key-reference.js'
import { UNAVAILABLE } from '../../src/keys/pkcs11/pkcs11-token.js'
import { eventually } from '../support/eventually.js'
import { freshPostgresDatabase } from '../support/servers.js'
import { ISSUER, JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN, type TestService } from '../support/service.js'
import { privateKeyFacts, softHsmToken, type SoftHsmToken } from '../support/softhsm.js'

/**
 * The service with `keys.signer: pkcs11` on a real SoftHSM2 token, Postgres and Redis: tokens signed in
 * the token and verified against the published JWKS, rotation making its keys there, a token lost
 * mid-run failing exchanges closed (503) and recovering, and a move from software keys.
 */

/** 300 s of JWKS cache + 30 s of staleness + 60 s of clock skew: when a `next` key may sign. */
const WAIT_MS = 390_000

function pkcs11Keys(token: SoftHsmToken, extra: Record<string, unknown> = {}) {
  // No key-encryption key: nothing is sealed with one when the keys are in the token.
  return { keys: { signer: 'pkcs11', pkcs11: token.config, encryptionKey: undefined, ...extra } }
}

async function issue(sts: TestService) {
  return sts.exchange({
    grant_type: TOKEN_EXCHANGE,
    subject_token: await sts.cluster.serviceAccountToken({ issuedAt: Math.floor(sts.clock.now() / 1000) }),
    subject_token_type: JWT_TOKEN_TYPE,
  })
}

/** A token issued now, verified as a resource server would: against the JWKS the service publishes. */
async function verifiedToken(t: Test, sts: TestService): Promise<{ kid: string; sub: string }> {
  const answer = await issue(sts)
  t.equal(answer.statusCode, 200, JSON.stringify(answer.body))
  const jwks = (await sts.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()
  const token = String(answer.body.access_token)
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
    issuer: ISSUER,
    typ: 'at+jwt',
    currentDate: new Date(sts.clock.now()),
  })
  return { kid: String(decodeProtectedHeader(token).kid), sub: String(payload.sub) }
}

async function keyRows(sts: TestService) {
  return sts.services.database.query<{ kid: string; state: string; signer: string; private_key: Buffer | null; kek_id: string | null }>(
    'SELECT kid, state, signer, private_key, kek_id FROM signing_keys ORDER BY created_at, kid',
  )
}

const GRANT = { subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' }

t.test('with signer pkcs11, tokens are signed in the HSM, verify against the JWKS, and rotation makes the next key there', async (t) => {
  const token = softHsmToken(t)
  const sts = await startTestService(t, { config: pkcs11Keys(token) })
  await sts.createGrant(GRANT)
  const first = await verifiedToken(t, sts)
  t.equal(first.sub, `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`)

  const [row] = await keyRows(sts)
  t.same([row!.kid, row!.state, row!.signer, row!.kek_id], [first.kid, 'current', 'pkcs11', null])
  t.match(row!.private_key?.toString(), /^pkcs11:token=seed-sts;id=(%[0-9a-f]{2}){16};type=private$/, 'the row holds a reference only')
  t.match(privateKeyFacts(token, decodeKeyReference(row!.private_key!)!.id), { value: 'CKR_ATTRIBUTE_SENSITIVE', extractable: false })

  const rotated = await sts.app.inject({ method: 'POST', url: '/v1/keys/rotate', headers: sts.admin })
  t.equal(rotated.statusCode, 201)
  t.match(rotated.json().key, { state: 'next', signer: 'pkcs11' })
  const next = (await keyRows(sts)).find((key) => key.state === 'next')!
  t.match(privateKeyFacts(token, decodeKeyReference(next.private_key!)!.id), { value: 'CKR_ATTRIBUTE_SENSITIVE', neverExtractable: true })
  sts.clock.advance(WAIT_MS)
  t.same(await sts.services.keyService.maintain(), [{ action: 'activate', kid: next.kid, retire: first.kid }])
  t.equal((await verifiedToken(t, sts)).kid, next.kid, 'the key made in the HSM by the rotation signs')
})

t.test(
  'the HSM lost mid-run: exchanges answer 503 signer_unavailable, the service goes on, and issues again once it is back',
  async (t) => {
    const token = softHsmToken(t)
    const sts = await startTestService(t, { config: pkcs11Keys(token) })
    await sts.createGrant(GRANT)
    await verifiedToken(t, sts)

    token.remove()
    for (const attempt of [1, 2, 3]) {
      const refused = await issue(sts)
      t.same(
        [refused.statusCode, refused.body],
        [503, { error: 'temporarily_unavailable', error_description: UNAVAILABLE, error_reason: 'signer_unavailable' }],
        `attempt ${attempt}`,
      )
    }
    t.equal((await sts.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'the process goes on')
    t.equal((await sts.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).statusCode, 200, 'verifiers still get the keys')
    const rotation = await sts.app.inject({ method: 'POST', url: '/v1/keys/rotate', headers: sts.admin })
    t.same([rotation.statusCode, rotation.json().reason], [503, 'signer_unavailable'], 'no key can be made meanwhile either')

    token.restore()
    // A reconnection is tried at most once a second.
    const recovered = await eventually(t, () => issue(sts), {
      until: (answer) => answer.statusCode === 200,
      what: 'a token once the HSM is back',
    })
    t.equal(recovered.statusCode, 200)
    await verifiedToken(t, sts)
  },
)

t.test(
  'a move from software keys: without the key-encryption key the start is refused, naming why; with it the old key signs until rotation',
  async (t) => {
    const databaseUrl = await freshPostgresDatabase(t)
    const software = await startTestService(t, { databaseUrl })
    await software.createGrant(GRANT)
    const sealed = await verifiedToken(t, software)

    const token = softHsmToken(t)
    const refused = await startTestService(t, { databaseUrl, config: pkcs11Keys(token) }).then(
      () => undefined,
      (error: unknown) => error,
    )
    t.type(refused, KeyDecryptionError)
    t.equal(
      (refused as Error).message,
      `signing key ${sealed.kid} was made by the software signer, and this instance has only pkcs11: its private key is sealed with ` +
        'the key-encryption key: set STS_KEY_ENCRYPTION_KEY (or keys.encryptionKeyFile) beside keys.signer pkcs11, and the keys made ' +
        'before sign until rotation has replaced them',
    )

    const moved = await startTestService(t, {
      databaseUrl,
      config: pkcs11Keys(token, { encryptionKey: software.services.config.keys.encryptionKey }),
    })
    t.equal((await verifiedToken(t, moved)).kid, sealed.kid, 'the software key goes on signing')
    moved.clock.advance(60_000)
    const rotated = await moved.app.inject({ method: 'POST', url: '/v1/keys/rotate', headers: moved.admin })
    t.match(rotated.json().key, { state: 'next', signer: 'pkcs11' })
    moved.clock.advance(WAIT_MS)
    await moved.services.keyService.maintain()
    const fromHsm = await verifiedToken(t, moved)
    t.equal(fromHsm.kid, rotated.json().key.kid, 'then the key made in the HSM takes over')
    t.same(
      (await keyRows(moved)).map((key) => [key.kid, key.state, key.signer]),
      [
        [sealed.kid, 'retired', 'software'],
        [fromHsm.kid, 'current', 'pkcs11'],
      ],
    )
  },
)
