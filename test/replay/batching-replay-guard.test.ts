import t from 'tap'
import { ServiceUnavailableError } from '../../src/errors.js'
import { FixedClock } from '../../src/lib/clock.js'
import { BatchingReplayGuard } from '../../src/replay/batching-replay-guard.js'
import { SqlReplayGuard } from '../../src/replay/sql-replay-guard.js'
import { BACKENDS } from '../support/databases.js'

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0)
const until = new Date(NOW + 300_000)

/** Group commit of single-use claims on the real record: one statement per turn, the record's answers. */
for (const [backend, open] of Object.entries(BACKENDS))
  t.test(backend, async (t) => {
    const db = await open(t)
    const record = new SqlReplayGuard(db, new FixedClock(NOW), { pruneIntervalMs: 0 })
    const statements: number[] = []
    const counted = Object.assign(Object.create(record) as SqlReplayGuard, {
      claimMany: (claims: ReadonlyArray<{ key: string; until: Date }>) => {
        statements.push(claims.length)
        return record.claimMany(claims)
      },
    })
    const guard = new BatchingReplayGuard(counted, 4)
    t.teardown(() => guard.close())

    const keys = ['a', 'b', 'a', 'c', 'd', 'e', 'b', 'f', 'g']
    const answers = await Promise.all(keys.map((key) => guard.claim(key, until)))
    t.same(answers, [true, true, false, true, true, true, false, true, true], 'the first of each key wins, in the order claimed')
    t.same(statements, [4, 4, 1], 'claims of one turn go in statements of at most maxBatch')
    t.same(await Promise.all([guard.claim('a', until), guard.claim('h', until)]), [false, true], 'a later turn sees what was claimed')

    const [nul, surrogateA, surrogateB, honest] = await Promise.all([
      guard.claim('dpop:attacker:a\u0000b', until),
      guard.claim('dpop:attacker:\ud800', until),
      guard.claim('dpop:attacker:\ud801', until),
      guard.claim('dpop:honest:jti-1', until),
    ])
    t.same(
      [nul, surrogateA, surrogateB, honest],
      [true, true, true, true],
      'keys the database cannot hold as sent (a NUL, lone surrogates) are stored by digest, apart, and fail no one',
    )
    t.same(
      await Promise.all([guard.claim('dpop:attacker:a\u0000b', until), guard.claim('dpop:attacker:\ud801', until)]),
      [false, false],
      'and are replays the second time',
    )

    await db.exec('ALTER TABLE attestation_claims RENAME TO attestation_claims_away')
    t.teardown(() => db.exec('ALTER TABLE attestation_claims_away RENAME TO attestation_claims'))
    const failed = await Promise.allSettled([guard.claim('x', until), guard.claim('y', until)])
    t.same(
      failed.map((result) => (result.status === 'rejected' ? (result.reason as ServiceUnavailableError).reason : 'claimed')),
      ['replay_guard_unavailable', 'replay_guard_unavailable'],
      'a batch that fails fails every claim in it, never answers one as first',
    )
  })
