import t from 'tap'
import { GoneError, type StsError } from '../../src/errors.js'
import { SqlRevocationLog } from '../../src/revocation/sql-revocation-log.js'
import type { Revocation } from '../../src/revocation/revocation.js'
import { BACKENDS } from '../support/databases.js'

const DAY = 86_400_000
const NOW = Date.UTC(2026, 10, 23, 12, 0, 0)

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`revocation retention on ${backend}`, async (t) => {
    const db = await open(t)
    const log = new SqlRevocationLog(db)
    const revoke = (value: string, createdAt: number, expiresAt: number | null = null): Promise<Revocation> =>
      log.transaction((tx) =>
        log.insert(tx, {
          kind: 'subject',
          value: `spiffe://example.org/${value}`,
          reason: 'leak',
          createdAt: new Date(createdAt),
          createdBy: 'alice',
          expiresAt: expiresAt === null ? null : new Date(expiresAt),
        }),
      )
    const lift = (revocation: Revocation, at: number): Promise<Revocation> =>
      log.transaction(async (tx) => (await log.lift(tx, revocation.id, new Date(at), 'alice', 'clear'))!)
    const positions = async () => (await log.list({ limit: 100 }, new Date(NOW))).items.map((r) => r.value.split('/').pop())
    const gone = async (since: string) => (await log.list({ since, limit: 100 }, new Date(NOW)).catch((e: unknown) => e)) as StsError

    const standing = await revoke('standing', NOW - 90 * DAY) // seq 1, kept for ever
    const liftedLongAgo = await lift(await revoke('lifted-long-ago', NOW - 30 * DAY), NOW - 10 * DAY) // seq 3
    const expiredLongAgo = await revoke('expired-long-ago', NOW - 9 * DAY, NOW - 8 * DAY) // seq 4
    const liftedLately = await lift(await revoke('lifted-lately', NOW - 30 * DAY), NOW - 2 * DAY) // seq 6
    const expiredLately = await revoke('expired-lately', NOW - 3 * DAY, NOW - DAY) // seq 7
    const expiring = await revoke('expiring', NOW - DAY, NOW + DAY) // seq 8
    t.same(await positions(), ['standing', 'lifted-long-ago', 'expired-long-ago', 'lifted-lately', 'expired-lately', 'expiring'])
    t.equal(await log.prunedThrough(), 0n)

    const cutoff = new Date(NOW - 7 * DAY)
    t.equal(await log.prune(cutoff, 1), 1, 'a batch at most')
    t.equal(await log.prunedThrough(), liftedLongAgo.seq, 'the oldest position first')
    t.equal(await log.prune(cutoff, 10), 1)
    t.equal(await log.prune(cutoff, 10), 0, 'then nothing more')
    t.same(
      await positions(),
      ['standing', 'lifted-lately', 'expired-lately', 'expiring'],
      'exactly those lifted or expired before the cutoff are gone',
    )
    t.equal(await log.prunedThrough(), expiredLongAgo.seq, 'the watermark: the highest position pruned')
    t.equal(await log.lastSeq(), expiring.seq)

    const error = await gone(String(liftedLongAgo.seq))
    t.type(error, GoneError)
    t.same(
      [error.code, error.reason, error.message],
      [
        'gone',
        'revocation_cursor_pruned',
        `changes after position ${liftedLongAgo.seq} are no longer all kept: revocations up to position ${expiredLongAgo.seq} were pruned by ` +
          'retention (revocations.retentionDays); resynchronise from a full listing (GET /v1/revocations without a cursor), then poll or stream from its cursor',
      ],
    )
    t.equal((await gone('0')).reason, 'revocation_cursor_pruned', 'from the start too: the start was pruned')
    t.same(
      await log.list({ since: String(expiredLongAgo.seq), limit: 100 }, new Date(NOW)),
      { items: [liftedLately, expiredLately, expiring], position: String(expiring.seq) },
      'a poller at the watermark missed nothing',
    )

    // A full listing, a page at a time: its pages start below the watermark (the standing revocation
    // kept its old position) and are not refused; its last page hands out a position to poll from.
    const first = await log.list({ limit: 1 }, new Date(NOW))
    t.same(first, { items: [standing], nextCursor: String(standing.seq), position: String(standing.seq) })
    const second = await log.list({ cursor: first.nextCursor, limit: 3 }, new Date(NOW))
    t.same(second, { items: [liftedLately, expiredLately, expiring], position: String(expiring.seq) })
    t.equal((await gone(String(standing.seq))).reason, 'revocation_cursor_pruned', 'but polling from that position is refused')

    t.test('when everything is pruned, positions never go back', async (t) => {
      t.equal(await log.prune(new Date(NOW + 30 * DAY), 10), 3, 'all but the standing one')
      const last = expiring.seq
      t.equal(await log.prunedThrough(), last)
      t.equal(await log.lastSeq(), last, 'the latest position is where retention left it, not the highest kept')
      t.same(
        await log.list({ limit: 10 }, new Date(NOW)),
        { items: [standing], position: String(last) },
        'a full listing hands out the watermark',
      )
      t.same(await log.list({ since: String(last), limit: 10 }, new Date(NOW)), { items: [], position: String(last) })
      const next = await revoke('next', NOW)
      t.equal(next.seq, last + 1n)
    })
  })
}
