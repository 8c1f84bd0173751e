import { randomBytes, randomUUID } from 'node:crypto'
import t from 'tap'
import { SqlAuditLog } from '../../src/audit/sql-audit-log.js'
import { LocalGrantFeed } from '../../src/grants/grant-feed.js'
import { KeyEncryptionKey } from '../../src/keys/key-encryption.js'
import { KeyEncryptionKeys } from '../../src/keys/key-encryption-keys.js'
import { KeyRing } from '../../src/keys/key-ring.js'
import { KeyService } from '../../src/keys/key-service.js'
import { SoftwareSigner } from '../../src/keys/software-signer.js'
import { SqlSigningKeyStore } from '../../src/keys/sql-key-store.js'
import { FixedClock } from '../../src/lib/clock.js'
import { createLogger } from '../../src/lib/logger.js'
import { BACKENDS } from '../support/databases.js'

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0)
const timings = { jwksMaxAgeMs: 300_000, propagationMs: 90_000, maxTokenLifetimeMs: 3_600_000, rotateEveryMs: 0 }

t.test('a key ring fails closed once stale, and a key that retired under an exchange still signs until removed', async (t) => {
  const db = await BACKENDS.pglite(t)
  const store = new SqlSigningKeyStore(db)
  const signer = new SoftwareSigner(new KeyEncryptionKeys(new KeyEncryptionKey(randomBytes(32))))
  let monotonic = 0
  const logger = createLogger('silent')
  // Reads only when told (no feed of its own, an hour between catch-ups), and a staleness bound of one second.
  const ring = new KeyRing(store, signer, new LocalGrantFeed(), {
    catchUpIntervalMs: 3_600_000,
    maxStalenessMs: 1000,
    monotonic: () => monotonic,
    logger,
  })
  t.teardown(() => ring.close())
  const clock = new FixedClock(T0)
  const unused = { revoke: () => Promise.reject(new Error('not in this test')) }
  const keys = new KeyService({
    store,
    signer,
    ring,
    revocations: unused,
    audit: new SqlAuditLog(db),
    clock,
    logger,
    timings,
    algorithm: 'EdDSA',
  })
  t.equal(await keys.bootstrap(() => []), 'generated')
  await ring.start()

  const first = ring.signingKey()
  t.equal(first.alg, 'EdDSA')
  monotonic = 1000
  t.same(ring.signingKey(), first, 'current at exactly the bound')
  monotonic = 1001
  t.throws(() => ring.signingKey(), { name: 'ServiceUnavailableError', reason: 'keys_stale' }, 'stale: does not sign')
  t.throws(() => ring.publicJwks(), { name: 'ServiceUnavailableError', reason: 'keys_stale' }, 'nor publish')
  t.throws(() => ring.verificationKey(first.kid), { name: 'ServiceUnavailableError', reason: 'keys_stale' }, 'nor verify')
  await ring.refresh()
  t.same(ring.signingKey(), first, 'current again after a read')

  const next = (await keys.rotate({ name: 'responder', requestId: null })).key
  t.same(
    ring
      .publicJwks()
      .keys.map((key) => key.kid)
      .sort(),
    [first.kid, next.kid].sort(),
    'a change made here is applied here before rotate() answers',
  )
  clock.advance(390_000)
  await keys.maintain()
  t.equal(ring.signingKey().kid, next.kid)
  t.equal((await signer.sign(first.kid, Buffer.from('x'))).length, 64, 'the retired key still signs for an exchange that took it before')
  clock.advance(3_690_000)
  t.same(await keys.maintain(), [{ action: 'remove', kid: first.kid }])
  await t.rejects(
    signer.sign(first.kid, Buffer.from('x')),
    { name: 'ServiceUnavailableError', reason: 'keys_stale' },
    'once removed, never again',
  )
  t.equal(ring.verificationKey(first.kid), undefined, 'and its tokens no longer verify')
})

t.test('the ring tells the metrics which key signs and when its scheduled rotation is due', async (t) => {
  const db = await BACKENDS.pglite(t)
  const store = new SqlSigningKeyStore(db)
  const signer = new SoftwareSigner(new KeyEncryptionKeys(new KeyEncryptionKey(randomBytes(32))))
  const logger = createLogger('silent')
  const told: [string, number | undefined][] = []
  const rotateEveryMs = 30 * 86_400_000
  const ring = new KeyRing(store, signer, new LocalGrantFeed(), {
    catchUpIntervalMs: 3_600_000,
    maxStalenessMs: 60_000,
    logger,
    rotateEveryMs,
    observer: { signing: (kid, due) => told.push([kid, due]) },
  })
  t.teardown(() => ring.close())
  const unused = { revoke: () => Promise.reject(new Error('not in this test')) }
  const keys = new KeyService({
    store,
    signer,
    ring,
    revocations: unused,
    audit: new SqlAuditLog(db),
    clock: new FixedClock(T0),
    logger,
    timings: { ...timings, rotateEveryMs },
    algorithm: 'EdDSA',
  })
  await keys.bootstrap(() => [])
  await ring.start()
  const [key] = await store.list()
  t.same(told.at(-1), [ring.signingKey().kid, key!.activatedAt!.getTime() + rotateEveryMs])

  const never = new KeyRing(store, signer, new LocalGrantFeed(), {
    catchUpIntervalMs: 3_600_000,
    maxStalenessMs: 60_000,
    logger,
    rotateEveryMs: 0,
    observer: { signing: (kid, due) => told.push([kid, due]) },
  })
  t.teardown(() => never.close())
  await never.start()
  t.same(told.at(-1), [ring.signingKey().kid, undefined], 'nothing scheduled: no due time')
})

t.test('at start, a key whose revocation stands (a restored database) is revoked again and replaced', async (t) => {
  const db = await BACKENDS.pglite(t)
  const store = new SqlSigningKeyStore(db)
  const signer = new SoftwareSigner(new KeyEncryptionKeys(new KeyEncryptionKey(randomBytes(32))))
  const logger = createLogger('silent')
  const ring = new KeyRing(store, signer, new LocalGrantFeed(), { catchUpIntervalMs: 3_600_000, maxStalenessMs: 60_000, logger })
  t.teardown(() => ring.close())
  const asked: string[] = []
  const revocations = {
    revoke: async (target: { kind: string; value: string }) => {
      asked.push(`${target.kind}:${target.value}`)
      return { revocation: {}, liveTokensCutOff: 0, alreadyRevoked: true } as never
    },
  }
  const keys = new KeyService({
    store,
    signer,
    ring,
    revocations,
    audit: new SqlAuditLog(db),
    clock: new FixedClock(T0),
    logger,
    timings,
    algorithm: 'EdDSA',
  })
  await keys.bootstrap(() => [])
  await ring.start()
  const restored = ring.signingKey().kid
  const standing = (kind: 'key' | 'subject', value: string) => ({
    kind,
    value,
    id: randomUUID(),
    reason: 'key material exposed (INC-9)',
    createdAt: new Date(T0),
    createdBy: 'responder',
    expiresAt: null,
    liftedAt: null,
    liftedBy: null,
    liftReason: null,
    seq: 7n,
  })
  const revoked = await keys.enforceKeyRevocations([
    standing('subject', restored),
    standing('key', restored),
    standing('key', 'no-such-kid'),
  ])
  t.same(revoked, [restored], 'only the key revocation of a key in use counts')
  const after = await store.list()
  t.same(after.map((key) => [key.kid === restored ? 'restored' : 'replacement', key.state, key.revokeReason]).sort(), [
    ['replacement', 'current', null],
    ['restored', 'revoked', 'key material exposed (INC-9)'],
  ])
  await ring.refresh()
  t.not(ring.signingKey().kid, restored, 'the ring signs with the replacement')
  t.same(asked, [`key:${restored}`], 'the revocation is made (found standing) the usual way')
  t.same(await keys.enforceKeyRevocations([standing('key', restored)]), [], 'once revoked, nothing more to do')
})
