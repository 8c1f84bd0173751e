import t from 'tap'
import { KeyEncryptionKey } from '../../src/keys/key-encryption.js'
import { KeyEncryptionKeys } from '../../src/keys/key-encryption-keys.js'
import { SqlSigningKeyStore } from '../../src/keys/sql-key-store.js'
import { eventually } from '../support/eventually.js'
import {
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
} from '../support/kek-instances.js'
import { ADMIN_TOKEN } from '../support/service.js'

/**
 * The re-seal of a KEK rotation, on Postgres: by the upkeep of two instances starting at once, by two
 * calls racing, and on demand through the admin API. Each key is re-sealed once, whoever gets there
 * first; a row is only replaced while it still names the KEK it was read with.
 */

const NEW_AND_OLD = { encryptionKey: NEW_KEK, previousEncryptionKeys: [OLD_KEK], maintenanceIntervalSeconds: 3600 }

t.test('instances racing to re-seal re-seal each key once; on demand, the admin API says what it did', async (t) => {
  const all = await deployment(t)
  const old = await all.start({ encryptionKey: OLD_KEK })
  await rotate(t, old, all)
  const [first, second] = (await keyRows(old)).map(([kid]) => kid)

  // Two instances with the new KEK start at once: their upkeeps run at their start, together.
  const [b1, b2] = await Promise.all([all.start(NEW_AND_OLD), all.start(NEW_AND_OLD)])
  const done = async () => (await keyRows(b1)).every(([, , kekId]) => kekId === NEW_KEK_ID)
  t.ok(await eventually(t, done, { what: 'every key re-sealed' }))
  t.same(
    (await resealEntries(b1)).sort(),
    [first, second].map((kid) => [kid, 'seed-sts', OLD_KEK_ID, NEW_KEK_ID]).sort(),
    'once each, whichever instance did it',
  )

  // Keys made under the old KEK after they started (the old instance still runs), then two calls at once.
  await promote(old, all)
  await rotate(t, old, all)
  await promote(old, all)
  await rotate(t, old, all)
  const underOld = (await keyRows(b1)).filter(([, , kekId]) => kekId === OLD_KEK_ID).map(([kid]) => kid)
  t.equal(underOld.length, 2, 'the promoted key and the new next one: the old instance made both')
  const actor = { name: 'racer', requestId: null }
  const outcomes = await Promise.all([b1.services.keyService.reseal(actor), b2.services.keyService.reseal(actor)])
  t.same(
    outcomes.flatMap((outcome) => outcome!.resealed.map((key) => key.kid)).sort(),
    [...underOld].sort(),
    'between them, each key re-sealed by one call only',
  )
  t.same(
    outcomes.map((outcome) => outcome!.remaining),
    [[], []],
  )
  t.same(
    (await resealEntries(b1)).filter(([, actorName]) => actorName === 'racer').sort(),
    underOld.map((kid) => [kid, 'racer', OLD_KEK_ID, NEW_KEK_ID]).sort(),
  )

  // On demand: a third key under the old KEK, re-sealed through the API, audited with the caller.
  await promote(old, all)
  await rotate(t, old, all)
  const latest = (await keyRows(b1)).at(-1)![0]
  const reseal = () => b2.app.inject({ method: 'POST', url: '/v1/keys/reseal', headers: b2.admin })
  const answered = await reseal()
  t.same([answered.statusCode, answered.json()], [200, { kekId: NEW_KEK_ID, resealed: 1, remaining: 0, remainingKeys: [] }])
  t.same(
    (await resealEntries(b1)).filter(([kid]) => kid === latest),
    [[latest, 'bootstrap', OLD_KEK_ID, NEW_KEK_ID]],
  )
  t.same((await reseal()).json(), { kekId: NEW_KEK_ID, resealed: 0, remaining: 0, remainingKeys: [] }, 'again: nothing to do')
  t.equal(await gauge(b2, 'sts_signing_keys_sealed_under_previous_kek'), 0)

  // From the old instance, which cannot open them: nothing re-sealed, every key named with its KEK.
  const fromOld = (await old.app.inject({ method: 'POST', url: '/v1/keys/reseal', headers: old.admin })).json()
  const held = (await keyRows(b1)).filter(([, state]) => state !== 'removed')
  t.same(fromOld, {
    kekId: OLD_KEK_ID,
    resealed: 0,
    remaining: held.length,
    remainingKeys: held.map(([kid]) => ({ kid, kekId: NEW_KEK_ID })),
  })
  t.equal(await gauge(old, 'sts_signing_keys_sealed_under_previous_kek'), held.length)

  // The role of the other key operations.
  const reader = await b1.app.inject({
    method: 'POST',
    url: '/v1/admin-tokens',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    payload: { name: 'key-reader', roles: ['keys:read'] },
  })
  const refused = await b1.app.inject({
    method: 'POST',
    url: '/v1/keys/reseal',
    headers: { authorization: `Bearer ${reader.json().token}` },
  })
  t.same([refused.statusCode, refused.json().reason], [403, 'role_missing'], 'keys:write, as to rotate or revoke')
})

t.test('a row is re-sealed only while it names the KEK it was read with', async (t) => {
  const all = await deployment(t)
  const sts = await all.start({ encryptionKey: OLD_KEK })
  const store = new SqlSigningKeyStore(sts.services.database)
  const [key] = await store.list()
  const keks = new KeyEncryptionKeys(new KeyEncryptionKey(Buffer.from(NEW_KEK, 'base64')), [
    new KeyEncryptionKey(Buffer.from(OLD_KEK, 'base64')),
  ])
  const sealed = keks.seal(keks.open(key!.privateKey!, key!.kid, key!.kekId), key!.kid)
  const stale = await store.transaction((tx) => store.reseal(tx, key!.kid, 'another-kek-id', sealed))
  t.equal(stale, undefined, 'read under another KEK: not replaced')
  t.same(await store.list(), [key], 'the row as it was')
  const done = await store.transaction((tx) => store.reseal(tx, key!.kid, OLD_KEK_ID, sealed))
  t.same(done, { ...key, privateKey: sealed.sealed, kekId: NEW_KEK_ID })
  const again = await store.transaction((tx) => store.reseal(tx, key!.kid, OLD_KEK_ID, keks.seal(Buffer.from('x'), key!.kid)))
  t.equal(again, undefined, 'a second run that read it under the old KEK replaces nothing')
  t.same(await store.list(), [done])
})
