import t from 'tap'
import type { GrantDraft } from '../../src/grants/grant-store.js'
import { SqlAuditLog } from '../../src/audit/sql-audit-log.js'
import { SqlGrantStore } from '../../src/grants/sql-grant-store.js'
import { BACKENDS } from '../support/databases.js'

const T0 = new Date(Date.UTC(2026, 10, 23, 12, 0, 0))
const later = (ms: number) => new Date(T0.getTime() + ms)
const ACTOR = { name: 'platform-team', requestId: 'req-1' }

function draft(overrides: Partial<GrantDraft> = {}): GrantDraft {
  return {
    subject: 'spiffe://example.org/k8s/prod/ns/payments/sa/*',
    conditions: { podName: 'api-*', nodeName: ['node-a', 'node-b'] },
    audiences: ['ledger-api'],
    scopes: ['ledger:read', 'ledger:write'],
    maxTtlSeconds: 600,
    owner: 'team-payments',
    description: 'payments reads and writes the ledger',
    expiresAt: later(86_400_000),
    enabled: true,
    requireDpop: false,
    mayAct: [],
    ...overrides,
  }
}

/** The `mayAct` of a grant as an audit entry holds it. */
const mayActOf = (body: unknown) => (body as { mayAct?: string[] } | null | undefined)?.mayAct

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`grant store contract on ${backend}`, async (t) => {
    const db = await open(t)
    const audit = new SqlAuditLog(db)
    const store = new SqlGrantStore(db, audit)

    await t.test('create and get round-trip every field', async (t) => {
      const created = await store.create(draft(), T0, ACTOR)
      t.match(created, { ...draft(), version: 1, createdAt: T0, updatedAt: T0 })
      t.same(await store.get(created.id), created)
      t.equal(await store.get('not-a-uuid'), undefined)
    })

    await t.test('mayAct round-trips in order, is replaced and cleared, and changes carry it', async (t) => {
      const actors = ['spiffe://example.org/k8s/prod/ns/agents/sa/*', 'spiffe://example.org/k8s/prod/ns/edge/sa/gateway']
      const position = await store.lastSeq()
      const created = await store.create(draft({ mayAct: actors }), T0, ACTOR)
      t.same(created.mayAct, actors)
      t.same(await store.get(created.id), created, 'read back as written')
      const replaced = await store.replace(created.id, draft({ mayAct: [actors[1]] }), 1, later(1000), ACTOR)
      t.same(replaced !== 'conflict' && replaced?.mayAct, [actors[1]])
      const cleared = await store.replace(created.id, draft({ mayAct: [] }), 2, later(2000), ACTOR)
      t.same(cleared !== 'conflict' && cleared?.mayAct, [])
      t.same((await store.get(created.id))?.mayAct, [])
      const changes = await store.changesSince(position, 10)
      t.same(
        changes.map((change) => change.grant?.mayAct),
        [[]],
        'a change reads the grant as it now stands',
      )
      const { items: entries } = await audit.list({ targetType: 'grant', targetId: created.id, limit: 10 })
      t.same(
        entries.map((entry) => [mayActOf(entry.before), mayActOf(entry.after)]),
        [
          [undefined, actors],
          [actors, [actors[1]]],
          [[actors[1]], []],
        ],
        'the audit entries show it before and after',
      )
    })

    await t.test('replace is optimistic: the expected version must still be current', async (t) => {
      const created = await store.create(draft(), T0, ACTOR)
      const replaced = await store.replace(created.id, draft({ scopes: ['ledger:read'] }), 1, later(1000), ACTOR)
      t.match(replaced, { version: 2, scopes: ['ledger:read'], updatedAt: later(1000), createdAt: T0 })
      t.equal(await store.replace(created.id, draft(), 1, later(2000), ACTOR), 'conflict')
      t.equal(await store.replace('00000000-0000-4000-8000-000000000000', draft(), 1, later(2000), ACTOR), undefined)
    })

    await t.test('disable keeps the grant and bumps its version once', async (t) => {
      const created = await store.create(draft(), T0, ACTOR)
      t.match(await store.disable(created.id, later(1000), ACTOR), { enabled: false, version: 2 })
      t.match(await store.disable(created.id, later(2000), ACTOR), { enabled: false, version: 2, updatedAt: later(1000) })
      const { items: entries } = await audit.list({ targetType: 'grant', targetId: created.id, limit: 10 })
      t.same(
        entries.map((e) => [e.action, e.actor, e.requestId]),
        [
          ['grant.create', 'platform-team', 'req-1'],
          ['grant.disable', 'platform-team', 'req-1'],
        ],
        'one audit entry per change, none for no change',
      )
      t.match(entries[1], { before: { enabled: true, version: 1 }, after: { enabled: false, version: 2 } })
    })

    /** Every active grant's id at `now`, read a page of `limit` at a time, and how many pages that took. */
    const active = async (now: Date, limit = 1000) => {
      const ids: string[] = []
      let pages = 0
      let cursor: string | undefined
      do {
        const page = await store.listActive(now, { cursor, limit })
        ids.push(...page.items.map((g) => g.id))
        cursor = page.nextCursor
        pages++
      } while (cursor !== undefined)
      return { ids, pages }
    }

    await t.test('active grants are the enabled, unexpired ones', async (t) => {
      const before = (await active(later(1000))).ids
      const soon = await store.create(draft({ expiresAt: later(10_000) }), T0, ACTOR)
      const off = await store.create(draft({ enabled: false }), T0, ACTOR)
      const now = (await active(later(1000))).ids
      t.ok(now.includes(soon.id))
      t.notOk(now.includes(off.id))
      t.notOk((await active(later(10_000))).ids.includes(soon.id), 'expired at its expiresAt')
      t.equal(now.length, before.length + 1)
    })

    await t.test('active grants come in pages, in creation order, each once', async (t) => {
      const all = await active(later(1000))
      const created: string[] = []
      for (let i = 0; i < 5; i++) {
        created.push((await store.create(draft(), later(5000 + i), ACTOR)).id)
        // Disabled ones between them take no place in a page.
        await store.create(draft({ enabled: false }), later(5000 + i), ACTOR)
      }
      const paged = await active(later(1000), 2)
      t.same(paged.ids, [...all.ids, ...created], 'the same grants as read whole, in creation order')
      t.equal(paged.pages, Math.ceil(paged.ids.length / 2))
      await t.rejects(store.listActive(later(1000), { cursor: 'not-a-cursor', limit: 2 }), { name: 'InvalidInputError' })
    })

    await t.test('pages in creation order with a cursor', async (t) => {
      const owner = `owner-${backend}`
      const ids: string[] = []
      for (let i = 0; i < 3; i++) ids.push((await store.create(draft({ owner }), later(i), ACTOR)).id)
      const first = await store.list({ owner, limit: 2 })
      t.same(
        first.items.map((g) => g.id),
        ids.slice(0, 2),
      )
      const second = await store.list({ owner, limit: 2, cursor: first.nextCursor })
      t.same(
        second.items.map((g) => g.id),
        ids.slice(2),
      )
      t.equal(second.nextCursor, undefined)
    })
  })
}
