import t from 'tap'
import { SqlAuditLog } from '../../src/audit/sql-audit-log.js'
import { systemClock } from '../../src/lib/clock.js'
import { LocalRevocationBus } from '../../src/revocation/revocation-bus.js'
import { RevocationCache } from '../../src/revocation/revocation-cache.js'
import { RevocationService } from '../../src/revocation/revocation-service.js'
import { SqlRevocationLog } from '../../src/revocation/sql-revocation-log.js'
import { createPostgresDatabase } from '../../src/db/postgres.js'
import { migrate } from '../../src/db/migrations.js'
import { SqlLiveTokenCounter } from '../../src/revocation/sql-live-token-counter.js'
import { fillLedgerEntries } from '../support/ledger-fill.js'
import { freshPostgresDatabase } from '../support/servers.js'

/**
 * Counting the live tokens a revocation cuts off is information, and the revocation's answer waits for
 * it: the count has a time budget (revocations.countBudgetMs), enforced by Postgres itself, beyond which
 * it says "more than can be counted" rather than holding up the answer of an incident-sized revocation.
 */
t.test('a count over its budget answers undefined; within it, the exact number', async (t) => {
  const db = createPostgresDatabase({ url: await freshPostgresDatabase(t), poolSize: 2 })
  t.teardown(() => db.close())
  await migrate(db)
  // 100,000 tokens issued over the last 4 minutes, each living 5: all live now (filled in parts, each
  // well inside the pool's statement timeout).
  const now = new Date()
  for (let part = 0; part < 4; part++) {
    const newest = new Date(now.getTime() - (3 - part) * 60_000)
    await fillLedgerEntries(db, { first: 1 + part * 25_000, rows: 25_000, newest, spreadMs: 59_999 })
  }
  const fleet = { kind: 'subject' as const, value: 'spiffe://example.org/k8s/prod/**' }

  t.equal(await new SqlLiveTokenCounter(db, 3600, 1).count(fleet, now), undefined, 'a millisecond is not enough for 100,000')
  t.equal(await new SqlLiveTokenCounter(db, 3600, 30_000).count(fleet, now), 100_000, 'given the time, every one is counted')
  t.equal(
    await new SqlLiveTokenCounter(db, 3600, 30_000).count({ kind: 'subject', value: 'spiffe://example.org/k8s/prod/ns/ns-7/sa/*' }, now),
    2000,
    'a namespace: its ten service accounts, 200 tokens each',
  )

  // The revocation's answer: in force, and says why it gives no number.
  const clock = systemClock
  const bus = new LocalRevocationBus(new SqlRevocationLog(db), clock)
  await bus.start(new RevocationCache(clock, 5000))
  t.teardown(() => bus.close())
  const service = new RevocationService(new SqlRevocationLog(db), bus, new SqlAuditLog(db), new SqlLiveTokenCounter(db, 3600, 1), clock)
  const { revocation, ...outcome } = await service.revoke(
    { ...fleet, reason: 'cluster compromised' },
    { name: 'responder', requestId: null },
  )
  t.same(outcome, {
    alreadyRevoked: false,
    liveTokensCutOff: null,
    liveTokensCutOffUnavailable:
      'the live tokens could not be counted within revocations.countBudgetMs (more than that allows, or a slow ledger); ' +
      'GET /v1/ledger with live=true lists them, and the revocation is in force all the same',
  })
  t.match(revocation, { kind: 'subject', value: fleet.value, liftedAt: null })

  const [{ timeout }] = await db.query<{ timeout: string }>('SHOW statement_timeout')
  t.not(timeout, '1ms', "the budget was the count's own, not left on the connection")
})
