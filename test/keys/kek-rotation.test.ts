import { decodeProtectedHeader } from 'jose'
import t, { type Test } from 'tap'
import { eventually } from '../support/eventually.js'
import {
  acceptedBy,
  ACTIVATION_MS,
  deployment,
  gauge,
  keyRows,
  NEW_KEK,
  NEW_KEK_ID,
  OLD_KEK,
  OLD_KEK_ID,
  resealEntries,
  promote,
  rotate,
  tokenFrom,
} from '../support/kek-instances.js'
import { TRUST_DOMAIN, type TestService } from '../support/service.js'

/**
 * A rotation of the key-encryption key as an operator rolls it out, on Postgres and Redis: instance A
 * still runs with the old KEK only, B starts with the new one and the old as previous. B re-seals
 * every key on its own; both go on signing, and every token verifies against either JWKS and
 * introspects active on either. Then an instance with the new KEK alone starts, and one with the old
 * alone is refused, naming the KEK the keys need.
 */

const GAUGE = 'sts_signing_keys_sealed_under_previous_kek'
const REMEDY =
  'set STS_KEY_ENCRYPTION_KEY (or keys.encryptionKeyFile) to it, or while rotating the key-encryption key, list it in ' +
  'STS_PREVIOUS_KEY_ENCRYPTION_KEYS (or keys.previousEncryptionKeys, keys.previousEncryptionKeyFiles)'

async function everyoneAccepts(t: Test, token: string, instances: TestService[], what: string): Promise<void> {
  const answers = await Promise.all(instances.map((sts) => acceptedBy(sts, token)))
  t.same(
    answers,
    instances.map(() => ({ jwks: true, active: true })),
    `${what}: verifies against every JWKS, active on every introspection`,
  )
}

t.test('a rolling rotation of the key-encryption key: both instances sign and verify, then only the new KEK is needed', async (t) => {
  const all = await deployment(t)
  const a = await all.start({ encryptionKey: OLD_KEK })
  await a.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  // Three keys under the old KEK: retired, current and next.
  await rotate(t, a, all)
  await promote(a, all)
  await rotate(t, a, all)
  const before = await keyRows(a)
  t.same(
    before.map(([, state, kekId]) => [state, kekId]),
    [
      ['retired', OLD_KEK_ID],
      ['current', OLD_KEK_ID],
      ['next', OLD_KEK_ID],
    ],
  )
  const kids = before.map(([kid]) => kid)
  const fromOldBefore = await tokenFrom(t, a)

  const b = await all.start({ encryptionKey: NEW_KEK, previousEncryptionKeys: [OLD_KEK] })
  const resealed = async () => (await keyRows(b)).every(([, , kekId]) => kekId === NEW_KEK_ID)
  t.ok(await eventually(t, resealed, { what: "B's upkeep re-seals every key at its start" }))
  t.same(await keyRows(a), [
    [kids[0], 'retired', NEW_KEK_ID],
    [kids[1], 'current', NEW_KEK_ID],
    [kids[2], 'next', NEW_KEK_ID],
  ])
  t.same(
    (await resealEntries(b)).sort(),
    kids.map((kid) => [kid, 'seed-sts', OLD_KEK_ID, NEW_KEK_ID]).sort(),
    'each key re-sealed once, on the audit log',
  )
  t.equal(await gauge(b, GAUGE), 0, 'B: nothing left under a previous KEK')

  const fromOld = await tokenFrom(t, a)
  const fromNew = await tokenFrom(t, b)
  t.same([decodeProtectedHeader(fromOld).kid, decodeProtectedHeader(fromNew).kid], [kids[1], kids[1]], 'both sign with the current key')
  for (const [token, what] of [
    [fromOldBefore, 'a token of A from before B started'],
    [fromOld, 'a token of A (old KEK only), after the re-seal'],
    [fromNew, 'a token of B'],
  ] as const) {
    await everyoneAccepts(t, token, [a, b], what)
  }

  // A holds the keys it opened before; the rows it cannot open any more, it leaves, and counts.
  const leftByA = await a.services.keyService.reseal()
  t.same(
    { resealed: leftByA?.resealed.length, remaining: leftByA?.remaining.map((key) => [key.kid, key.kekId]) },
    { resealed: 0, remaining: kids.map((kid) => [kid, NEW_KEK_ID]) },
    'the old instance re-seals nothing back, and says what it cannot open',
  )
  t.equal(await gauge(a, GAUGE), 3, 'A: three keys under a KEK other than its own')

  // The rotation rolled out: an instance with the new KEK alone starts and signs.
  const c = await all.start({ encryptionKey: NEW_KEK })
  const fromC = await tokenFrom(t, c)
  await everyoneAccepts(t, fromC, [a, b, c], 'a token of C (new KEK only)')
  t.equal(await gauge(c, GAUGE), 0)

  // One with the old KEK alone is refused at start, naming the KEK the keys need.
  await t.rejects(all.start({ encryptionKey: OLD_KEK }), {
    name: 'KeyDecryptionError',
    message:
      `signing keys ${kids.join(', ')} were sealed with the key-encryption key ${NEW_KEK_ID}, which is not configured here ` +
      `(the current one is ${OLD_KEK_ID}, with no previous one): ${REMEDY}`,
  })
})

t.test(
  'a key made by the new instances during the rollout: the old one publishes and verifies it, and refuses to sign with it',
  async (t) => {
    const all = await deployment(t)
    const a = await all.start({ encryptionKey: OLD_KEK })
    await a.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
    const b = await all.start({ encryptionKey: NEW_KEK, previousEncryptionKeys: [OLD_KEK] })
    const rotated = await b.app.inject({ method: 'POST', url: '/v1/keys/rotate', headers: b.admin })
    const next = rotated.json().key as { kid: string; kekId: string }
    t.equal(next.kekId, NEW_KEK_ID, 'sealed under the new KEK')
    const published = async () =>
      ((await a.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json().keys as { kid: string }[]).some(
        (k) => k.kid === next.kid,
      )
    t.ok(await eventually(t, published, { what: "the next key in A's JWKS" }))
    const stillSigning = await tokenFrom(t, a)
    t.not(decodeProtectedHeader(stillSigning).kid, next.kid, 'A signs on with the current key')
    await everyoneAccepts(t, stillSigning, [a, b], 'a token of A meanwhile')

    all.advance(ACTIVATION_MS)
    await b.services.keyService.maintain()
    const fromB = await tokenFrom(t, b)
    t.equal(decodeProtectedHeader(fromB).kid, next.kid, 'B signs with the new key')
    const refused = async () =>
      a.exchange({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: await a.cluster.serviceAccountToken({ issuedAt: Math.floor(a.clock.now() / 1000) }),
        subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      })
    const answer = await eventually(t, refused, { until: (r) => r.statusCode !== 200, what: 'A stops signing' })
    t.same(
      [answer.statusCode, answer.body],
      [
        503,
        {
          error: 'temporarily_unavailable',
          error_description:
            `signing key ${next.kid} was sealed with the key-encryption key ${NEW_KEK_ID}, which is not configured here ` +
            `(the current one is ${OLD_KEK_ID}, with no previous one): ${REMEDY}`,
          error_reason: 'keys_unavailable',
        },
      ],
      'never with the retired key, and saying why',
    )
    t.equal((await a.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503, 'A is not ready')
    await everyoneAccepts(t, fromB, [a, b], "a token of B's new key")
  },
)
