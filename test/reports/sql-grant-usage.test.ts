import t from 'tap'
import { SqlAdminTokenStore } from '../../src/admin-tokens/sql-admin-token-store.js'
import { SqlAuditLog } from '../../src/audit/sql-audit-log.js'
import { SqlGrantStore } from '../../src/grants/sql-grant-store.js'
import { SqlGrantUsageReader } from '../../src/reports/sql-grant-usage.js'
import { BACKENDS } from '../support/databases.js'
import { grantDraft } from '../support/grant-drafts.js'
import { inventoryRecorder, ledgerEntry, sqlLedgerStoreWithInventory } from '../support/ledger.js'

/** The report's reads of the roll-ups, grants and admin tokens, after tokens recorded by the ledger's real writer. */
const T0 = Date.UTC(2030, 5, 15, 12)
const DAY = 86_400_000
const NS = 'spiffe://example.org/k8s/prod/ns'
const actor = { name: 'alice', requestId: null }
/** Live until 300 days after T0. */
const draft = (at: number, overrides: Parameters<typeof grantDraft>[1]) =>
  grantDraft(at, { expiresAt: new Date(T0 + 300 * DAY), ...overrides })

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`the least-privilege report reads on ${backend}`, async (t) => {
    const db = await open(t)
    const audit = new SqlAuditLog(db)
    const grants = new SqlGrantStore(db, audit)
    const reader = new SqlGrantUsageReader(db)
    const now = new Date(T0 + 40 * DAY)
    const since = new Date(T0 + 10 * DAY)
    const old = await grants.create(
      draft(T0, { subject: `${NS}/payments/sa/*`, audiences: ['ledger-api', 'billing'] }),
      new Date(T0),
      actor,
    )
    const quiet = await grants.create(draft(T0, { subject: `${NS}/legacy/sa/batch`, audiences: ['reports'] }), new Date(T0), actor)
    const never = await grants.create(draft(T0, { subject: `${NS}/legacy/sa/cron`, audiences: ['reports'] }), new Date(T0), actor)
    await grants.create(draft(T0 + 20 * DAY, { subject: `${NS}/new/sa/x`, audiences: ['x'] }), new Date(T0 + 20 * DAY), actor)
    await grants.create(draft(T0, { subject: `${NS}/off/sa/x`, audiences: ['x'], enabled: false }), new Date(T0), actor)
    // Moved to an audience it never gave: its old audience's rows are another grant's doing.
    const moved = await grants.create(draft(T0, { subject: `${NS}/moved/sa/x`, audiences: ['old'] }), new Date(T0), actor)

    const recorder = inventoryRecorder(db)
    const ledger = sqlLedgerStoreWithInventory(db, recorder)
    const api = `${NS}/payments/sa/api`
    const worker = `${NS}/payments/sa/worker`
    await ledger.recordMany([
      ledgerEntry(T0 + DAY, {
        subject: `${NS}/legacy/sa/batch`,
        audience: 'reports',
        grantIds: [quiet.id],
        jti: '01900000-0000-7000-8000-000000000001',
      }),
      ledgerEntry(T0 + DAY, {
        subject: `${NS}/moved/sa/x`,
        audience: 'old',
        grantIds: [moved.id],
        jti: '01900000-0000-7000-8000-000000000002',
      }),
      ledgerEntry(T0 + 5 * DAY, { subject: api, audience: 'billing', grantIds: [old.id], jti: '01900000-0000-7000-8000-000000000003' }),
    ])
    await ledger.recordMany([
      ledgerEntry(T0 + 30 * DAY, {
        subject: api,
        scopes: ['ledger:read'],
        grantIds: [old.id],
        jti: '01900000-0000-7000-8000-000000000004',
      }),
      ledgerEntry(T0 + 31 * DAY, {
        subject: worker,
        scopes: ['ledger:write'],
        grantIds: [old.id],
        jti: '01900000-0000-7000-8000-000000000005',
      }),
      ledgerEntry(T0 + 32 * DAY, {
        subject: `${NS}/moved/sa/x`,
        audience: 'elsewhere',
        grantIds: [moved.id],
        jti: '01900000-0000-7000-8000-000000000006',
      }),
    ])
    await recorder.flush()
    await grants.replace(moved.id, { ...draft(T0, { subject: `${NS}/moved/sa/x`, audiences: ['new'] }) }, 1, new Date(T0 + 2 * DAY), actor)

    const at = (days: number) => new Date(T0 + days * DAY)
    t.same(
      await reader.accessOf([old.id, quiet.id, never.id]),
      [
        ...[
          { grantId: old.id, audience: 'billing', lastUsed: at(5) },
          { grantId: old.id, audience: 'ledger-api', lastUsed: at(31) },
          { grantId: old.id, audience: 'ledger-api', scope: 'ledger:read', lastUsed: at(30) },
          { grantId: old.id, audience: 'ledger-api', scope: 'ledger:write', lastUsed: at(31) },
        ],
        { grantId: quiet.id, audience: 'reports', lastUsed: at(1) },
      ].sort((a, b) => (a.grantId < b.grantId ? -1 : a.grantId > b.grantId ? 1 : 0)),
    )
    t.same(await reader.accessOf([]), [])

    t.same([...(await reader.identitiesSince([old.id, quiet.id, never.id], since))], [[old.id, 2]])

    t.same(await reader.subjectAccessSince([old.id], since, 2), [
      { grantId: old.id, subject: api, audience: 'ledger-api' },
      { grantId: old.id, subject: api, audience: 'ledger-api', scope: 'ledger:read' },
      { grantId: old.id, subject: worker, audience: 'ledger-api' },
      { grantId: old.id, subject: worker, audience: 'ledger-api', scope: 'ledger:write' },
    ])
    t.same(await reader.subjectAccessSince([old.id], since, 1), [], 'more identities than asked for: left out')
    t.same(await reader.subjectAccessSince([old.id], at(30.5), 1), [
      { grantId: old.id, subject: worker, audience: 'ledger-api' },
      { grantId: old.id, subject: worker, audience: 'ledger-api', scope: 'ledger:write' },
    ])

    t.same(await reader.staleIdentities(since, 10), [{ subject: `${NS}/legacy/sa/batch`, attestor: 'prod', lastSeen: at(1) }])
    t.same(await reader.staleIdentities(since, 10, [`${NS}/payments`]), [], 'a team sees its own identities only')
    t.same(await reader.staleIdentities(at(40), 2), [
      { subject: `${NS}/legacy/sa/batch`, attestor: 'prod', lastSeen: at(1) },
      { subject: api, attestor: 'prod', lastSeen: at(30) },
    ])

    // Live, created before the cutoff, none of its own audiences given since: quiet, never, moved.
    // Not old (used), young (made after the cutoff), off (disabled).
    t.same((await reader.unusedGrantIds(since, now, 10)).sort(), [quiet.id, never.id, moved.id].sort())
    t.same(await reader.unusedGrantIds(since, new Date(T0 + 400 * DAY), 10), [], 'expired grants are not live')

    const tokens = new SqlAdminTokenStore(db, audit)
    const scoped = (name: string, owners: string[], expiresAt: Date | null) =>
      tokens.create({ name, roles: ['grants:read'], expiresAt, scope: { owners, subjectPrefixes: [NS] } }, new Date(T0), actor)
    await scoped('payments', ['team-payments', 'team-billing'], null)
    await scoped('orders', ['team-orders'], at(39))
    const revoked = await scoped('legacy', ['team-legacy'], null)
    await tokens.revoke(revoked.token.id, new Date(T0), actor)
    await tokens.create({ name: 'everyone', roles: ['grants:read'], expiresAt: null, scope: null }, new Date(T0), actor)
    t.same([...(await reader.ownersWithLiveAdminTokens(now))].sort(), ['team-billing', 'team-payments'])
    t.same([...(await reader.ownersWithLiveAdminTokens(at(38)))].sort(), ['team-billing', 'team-orders', 'team-payments'])
  })
}
