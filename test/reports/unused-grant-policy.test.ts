import t from 'tap'
import { SqlAuditLog } from '../../src/audit/sql-audit-log.js'
import { ADVISORY_LOCKS } from '../../src/db/advisory-locks.js'
import { SqlGrantStore } from '../../src/grants/sql-grant-store.js'
import { FixedClock } from '../../src/lib/clock.js'
import { createLogger } from '../../src/lib/logger.js'
import { SqlGrantUsageReader } from '../../src/reports/sql-grant-usage.js'
import { UnusedGrantPolicy } from '../../src/reports/unused-grant-policy.js'
import { BACKENDS } from '../support/databases.js'
import { grantDraft } from '../support/grant-drafts.js'
import { inventoryRecorder, ledgerEntry, sqlLedgerStoreWithInventory } from '../support/ledger.js'
import { startTestService } from '../support/service.js'

/** grants.disableUnusedAfterDays: the grants unused that long are disabled, once, by one instance, audited as seed-sts with the reason. */
const T0 = Date.UTC(2030, 5, 15, 12)
const DAY = 86_400_000
const NS = 'spiffe://example.org/k8s/prod/ns'
const actor = { name: 'alice', requestId: null }
const draft = (overrides: Parameters<typeof grantDraft>[1]) => grantDraft(T0, { expiresAt: new Date(T0 + 300 * DAY), ...overrides })

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`the unused-grant policy on ${backend}`, async (t) => {
    const db = await open(t)
    const audit = new SqlAuditLog(db)
    const grants = new SqlGrantStore(db, audit)
    const clock = new FixedClock(T0 + 40 * DAY)
    const quiet = await grants.create(draft({ subject: `${NS}/legacy/sa/batch`, audiences: ['reports'] }), new Date(T0), actor)
    const busy = await grants.create(draft({ subject: `${NS}/payments/sa/api` }), new Date(T0), actor)
    const young = await grants.create(draft({ subject: `${NS}/new/sa/x` }), new Date(T0 + 35 * DAY), actor)
    const recorder = inventoryRecorder(db)
    await sqlLedgerStoreWithInventory(db, recorder).recordMany([ledgerEntry(T0 + 20 * DAY, { grantIds: [busy.id] })])
    await recorder.flush()
    let announced = 0
    const policy = new UnusedGrantPolicy({
      database: db,
      grants,
      usage: new SqlGrantUsageReader(db),
      announce: async () => void announced++,
      clock,
      logger: createLogger('silent'),
      afterDays: 30,
    })

    if (backend === 'postgres') {
      // Another instance running it: this one skips.
      await db.withConnection(async (conn) => {
        await conn.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCKS.unusedGrants])
        t.same(await policy.run(), [], 'the lock is held elsewhere: nothing done')
        await conn.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCKS.unusedGrants])
      })
    }
    t.same(await policy.run(), [quiet.id])
    t.equal(announced, 1, 'the catalogs are told')
    t.same(await Promise.all([quiet, busy, young].map(async (g) => (await grants.get(g.id))?.enabled)), [false, true, true])
    const entries = await audit.list({ targetId: quiet.id, limit: 10 })
    t.same(
      entries.items.map((e) => ({
        actor: e.actor,
        action: e.action,
        reason: (e.after as { reason?: string }).reason,
        enabled: (e.after as { enabled: boolean }).enabled,
      })),
      [
        { actor: 'alice', action: 'grant.create', reason: undefined, enabled: true },
        {
          actor: 'seed-sts',
          action: 'grant.disable',
          reason: `unused for 30 days (grants.disableUnusedAfterDays): no token since ${new Date(T0 + 10 * DAY).toISOString()}`,
          enabled: false,
        },
      ],
    )
    t.same(await policy.run(), [], 'a second run finds nothing left')
    t.equal(announced, 1)
  })
}

t.test('the retention upkeep runs it when configured, and not by default', async (t) => {
  for (const [afterDays, expected] of [
    [undefined, 'kept'],
    [30, 'disabled'],
  ] as const) {
    const sts = await startTestService(t, {
      backend: 'real',
      config: afterDays === undefined ? {} : { grants: { disableUnusedAfterDays: afterDays } },
    })
    const grant = await sts.createGrant({ subject: `${NS}/legacy/sa/batch`, audiences: ['reports'], owner: 'team-legacy' })
    // The run at start, done, and no timer to race this one for the lock.
    await sts.services.retention.stop()
    sts.clock.advance(31 * DAY)
    const outcome = await sts.services.retention.runOnce()
    t.same(outcome.grantsDisabled, expected === 'disabled' ? [grant.id] : [], `disableUnusedAfterDays: ${afterDays}`)
    const read = await sts.app.inject({ method: 'GET', url: `/v1/grants/${String(grant.id)}`, headers: sts.admin })
    t.equal(read.json().enabled, expected === 'kept')
  }
})
