import t, { type Test } from 'tap'
import { SqlAuditLog } from '../../src/audit/sql-audit-log.js'
import type { Database } from '../../src/db/database.js'
import { migrate } from '../../src/db/migrations.js'
import { createPostgresDatabase } from '../../src/db/postgres.js'
import { ServiceUnavailableError } from '../../src/errors.js'
import type { Grant } from '../../src/grants/grant.js'
import { GrantCatalog, type GrantCatalogOptions } from '../../src/grants/grant-catalog.js'
import { inCreationOrder } from '../../src/grants/grant-rule.js'
import { LocalGrantFeed, type GrantFeed } from '../../src/grants/grant-feed.js'
import type { GrantDraft, GrantStore } from '../../src/grants/grant-store.js'
import { RedisGrantFeed } from '../../src/grants/redis-grant-feed.js'
import { SqlGrantStore } from '../../src/grants/sql-grant-store.js'
import { FixedClock } from '../../src/lib/clock.js'
import { globMatches } from '../../src/lib/glob.js'
import { createLogger } from '../../src/lib/logger.js'
import { BACKENDS } from '../support/databases.js'
import { eventually } from '../support/eventually.js'
import { REDIS_KINDS } from '../support/redis-kinds.js'
import { freshPostgresDatabase, REDIS_URL, uniqueRedisPrefix } from '../support/servers.js'
import { startTcpProxy } from '../support/tcp-proxy.js'
import { grantDraft } from '../support/grant-drafts.js'

const T0 = Date.UTC(2026, 10, 23, 12, 0, 0)
const ACTOR = { name: 'platform-team', requestId: null }
const API = 'spiffe://example.org/k8s/prod/ns/payments/sa/api'
/** The periodic catch-up never runs in these tests unless one asks: what arrives came through the feed. */
const NO_POLL = { catchUpIntervalMs: 3_600_000, maxStalenessMs: 7_200_000 }

const draft = (overrides: Partial<GrantDraft> = {}): GrantDraft => grantDraft(T0, overrides)

/** The real store, with every call counted: what proves the table is not reloaded. */
function counted(store: GrantStore): { store: GrantStore; calls: Map<string, number> } {
  const calls = new Map<string, number>()
  const wrapped = new Proxy(store, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver)
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        calls.set(String(name), (calls.get(String(name)) ?? 0) + 1)
        return (value as (...a: unknown[]) => unknown).apply(target, args)
      }
    },
  })
  return { store: wrapped, calls }
}

async function catalog(
  t: Test,
  store: GrantStore,
  feed: GrantFeed,
  clock: FixedClock,
  options: GrantCatalogOptions = NO_POLL,
  monotonic?: () => number,
) {
  const catalog = new GrantCatalog(store, feed, clock, { ...options, ...(monotonic ? { monotonic } : {}) })
  t.teardown(() => catalog.close())
  await catalog.start()
  return catalog
}

/**
 * The description of every version of a grant written through a store made by `described`: the
 * catalog holds only what matching needs, so its grants are named by id and version.
 */
const described = new Map<string, string>()

/** The real store, remembering the description of each grant version it writes. */
function describing(store: SqlGrantStore): SqlGrantStore {
  return new Proxy(store, {
    get(target, name, receiver) {
      const value: unknown = Reflect.get(target, name, receiver)
      if (typeof value !== 'function') return value
      return async (...args: unknown[]) => {
        const result: unknown = await (value as (...a: unknown[]) => unknown).apply(target, args)
        if (name === 'create' || name === 'replace' || name === 'disable') {
          const grant = result as Grant | undefined | 'conflict'
          if (typeof grant === 'object') described.set(`${grant.id}@${grant.version}`, grant.description)
        }
        return result
      }
    },
  })
}

/** What an exchange by `subject` would match, of the candidates (the index may give more than match), in creation order. */
const descriptions = async (catalog: GrantCatalog, subject = API) =>
  (await catalog.candidatesFor(subject))
    .filter((g) => globMatches(g.subject, subject))
    .sort(inCreationOrder)
    .map((g) => described.get(`${g.id}@${g.version}`) ?? `${g.id}@${g.version} (not written by the test)`)

t.test('embedded: loaded once, then only changes are read; a grant that stops applying leaves', async (t) => {
  const db = await BACKENDS.pglite(t)
  const clock = new FixedClock(T0)
  const sql = describing(new SqlGrantStore(db, new SqlAuditLog(db)))
  const old = await sql.create(draft({ description: 'old' }), new Date(T0 - 1000), ACTOR)
  await sql.create(draft({ description: 'off', enabled: false }), new Date(T0), ACTOR)
  const { store, calls } = counted(sql)
  const cat = await catalog(t, store, new LocalGrantFeed(), clock)
  t.same(await descriptions(cat), ['old'], 'the active grants, loaded at start')

  const created = await sql.create(draft({ description: 'new' }), new Date(T0), ACTOR)
  await cat.announceChange()
  t.same(await descriptions(cat), ['old', 'new'], 'a write announced here applies before the answer')
  await sql.replace(created.id, draft({ description: 'new2', subject: `${API}-*` }), 1, new Date(T0), ACTOR)
  await cat.announceChange()
  t.same(await descriptions(cat), ['old'], 'a replaced grant is filed under its new subject')
  t.same(await descriptions(cat, `${API}-x`), ['old', 'new2'])
  await sql.disable(old.id, new Date(T0), ACTOR)
  await cat.announceChange()
  t.same(await descriptions(cat), [], 'a disabled grant leaves')
  await sql.replace(created.id, draft({ description: 'soon', expiresAt: new Date(T0 + 1000) }), 2, new Date(T0), ACTOR)
  await cat.announceChange()
  t.same(await descriptions(cat), ['soon'])
  clock.advance(1000)
  await cat.catchUp()
  t.same(await descriptions(cat), ['soon'], 'an expired grant stays a candidate until it changes...')
  t.equal((await cat.candidatesFor(API)).filter((g) => g.expiresAtMs > clock.now()).length, 0, '...and the matcher sees it expired')
  await sql.replace(created.id, draft({ description: 'past', expiresAt: new Date(T0 + 500) }), 3, new Date(T0), ACTOR)
  await cat.catchUp()
  t.same(await descriptions(cat), [], 'a change that leaves it expired takes it out')
  await sql.create(draft({ description: 'by hand' }), new Date(T0), ACTOR)
  await db.query(`DELETE FROM grants WHERE description = 'by hand'`)
  await cat.catchUp()
  t.same(await descriptions(cat), [], 'a grant created then deleted by hand never shows')
  t.equal(calls.get('listActive'), 1, 'the whole table was read once')
  t.equal(cat.state().position, await sql.lastSeq(), 'and the catalog is at the last position')
})

t.test('loaded a page at a time; what changes while it loads is applied too', async (t) => {
  const db = await BACKENDS.pglite(t)
  const clock = new FixedClock(T0)
  const sql = describing(new SqlGrantStore(db, new SqlAuditLog(db)))
  const made: Grant[] = []
  for (let i = 0; i < 5; i++) made.push(await sql.create(draft({ description: `g${i}` }), new Date(T0 - 10_000 + i), ACTOR))
  let pages = 0
  // Another instance's writes, committed between the first page and the second.
  const writesDuringLoad = async () => {
    await sql.disable(made[1].id, new Date(T0), ACTOR)
    await sql.disable(made[3].id, new Date(T0), ACTOR)
    await sql.replace(made[4].id, draft({ description: 'g4 replaced' }), 1, new Date(T0), ACTOR)
    await sql.create(draft({ description: 'during' }), new Date(T0), ACTOR)
  }
  const store: GrantStore = Object.assign(Object.create(sql) as GrantStore, {
    listActive: async (now: Date, page: { cursor?: string; limit: number }) => {
      const read = await sql.listActive(now, page)
      if (++pages === 1) await writesDuringLoad()
      return read
    },
  })
  const cat = await catalog(t, store, new LocalGrantFeed(), clock, { ...NO_POLL, loadPageSize: 2 })
  t.same(await descriptions(cat), ['g0', 'g2', 'g4 replaced', 'during'], 'the table as it stands once loaded, disables and all')
  t.equal(pages, 3, 'read in pages of two')
  t.equal(cat.state().grants, 4)
})

for (const [kind, endpoint] of Object.entries(REDIS_KINDS)) {
  t.test(`a change made through A applies on B through the feed (Postgres and ${kind})`, async (t) => {
    const redis = await endpoint(t)
    const db = await BACKENDS.postgres(t)
    const clock = new FixedClock(T0)
    const prefix = uniqueRedisPrefix()
    const feed = () => new RedisGrantFeed({ ...redis, keyPrefix: prefix, commandTimeoutMs: 1000 }, createLogger('silent'))
    const sql = describing(new SqlGrantStore(db, new SqlAuditLog(db)))
    const a = await catalog(t, sql, feed(), clock)
    const { store, calls } = counted(sql)
    const b = await catalog(t, store, feed(), clock)

    const grant = await sql.create(draft({ description: 'created' }), new Date(T0), ACTOR)
    await a.announceChange()
    t.same(await eventually(t, () => descriptions(b), { until: (d) => d.length === 1 }), ['created'], 'a create')
    await sql.replace(grant.id, draft({ description: 'replaced' }), 1, new Date(T0), ACTOR)
    await a.announceChange()
    t.same(await eventually(t, () => descriptions(b), { until: (d) => d[0] === 'replaced' }), ['replaced'], 'a replace')
    await sql.disable(grant.id, new Date(T0), ACTOR)
    await a.announceChange()
    t.same(await eventually(t, () => descriptions(b), { until: (d) => d.length === 0 }), [], 'a disable')
    t.equal(calls.get('listActive'), 1, 'B read the whole table once, at start')
  })
}

t.test('an instance that missed messages catches up by position when its feed reconnects', async (t) => {
  const url = await freshPostgresDatabase(t)
  const db: Database = createPostgresDatabase({ url, poolSize: 4 })
  t.teardown(() => db.close())
  await migrate(db)
  const clock = new FixedClock(T0)
  const prefix = uniqueRedisPrefix()
  const redis = new URL(REDIS_URL)
  const proxy = await startTcpProxy(redis.hostname, Number(redis.port || 6379))
  t.teardown(() => proxy.close())
  const sql = describing(new SqlGrantStore(db, new SqlAuditLog(db)))
  const log = createLogger('silent')
  const a = await catalog(t, sql, new RedisGrantFeed({ url: REDIS_URL, keyPrefix: prefix, commandTimeoutMs: 1000 }, log), clock)
  const { store, calls } = counted(sql)
  const b = await catalog(t, store, new RedisGrantFeed({ url: proxy.url('redis'), keyPrefix: prefix, commandTimeoutMs: 1000 }, log), clock)

  proxy.cut()
  await sql.create(draft({ description: 'while b was away' }), new Date(T0), ACTOR)
  await a.announceChange()
  await sql.create(draft({ description: 'and another' }), new Date(T0 + 1), ACTOR)
  await a.announceChange()
  t.same(await descriptions(b), [], 'b heard nothing')
  proxy.restore()
  t.same(
    await eventually(t, () => descriptions(b), { until: (d) => d.length === 2 }),
    ['while b was away', 'and another'],
    'b catches up once its feed is back',
  )
  t.equal(calls.get('listActive'), 1, 'by reading what changed, not the table')

  // Not subscribed at all when the change happened: a new instance, started later, has it from the start.
  await sql.create(draft({ description: 'before c' }), new Date(T0 + 2), ACTOR)
  const c = await catalog(t, sql, new LocalGrantFeed(), clock)
  t.same(await descriptions(c), ['while b was away', 'and another', 'before c'])
})

t.test('no word from the grant store beyond the staleness bound fails closed, and recovers', async (t) => {
  const target = new URL(await freshPostgresDatabase(t))
  const proxy = await startTcpProxy(target.hostname, Number(target.port || 5432))
  t.teardown(() => proxy.close())
  const proxied = new URL(target)
  proxied.port = new URL(proxy.url('postgres')).port
  const db = createPostgresDatabase({ url: proxied.toString(), poolSize: 2 })
  t.teardown(() => db.close())
  await migrate(db)
  const clock = new FixedClock(T0)
  let monotonic = 0
  const sql = describing(new SqlGrantStore(db, new SqlAuditLog(db)))
  await sql.create(draft({ description: 'standing' }), new Date(T0), ACTOR)
  const cat = await catalog(t, sql, new LocalGrantFeed(), clock, { catchUpIntervalMs: 3_600_000, maxStalenessMs: 5000 }, () => monotonic)

  monotonic = 5000
  t.same(await descriptions(cat), ['standing'], 'at the bound, the copy is still vouched for')
  proxy.cut()
  await t.rejects(cat.catchUp(), 'the catch-up fails')
  monotonic = 5001
  const error = await cat.candidatesFor(API).catch((e: unknown) => e)
  t.type(error, ServiceUnavailableError)
  t.match(error, { reason: 'grants_stale', message: 'the grants cannot be vouched for: no change read from the grant store for 5.0 s' })
  t.equal(cat.isCurrent(), false)
  proxy.restore()
  await eventually(t, () =>
    cat.catchUp().then(
      () => true,
      () => false,
    ),
  )
  t.same(await descriptions(cat), ['standing'], 'one successful catch-up and it issues again')
  t.equal(cat.isCurrent(), true)
})

t.test('before it has loaded, the catalog refuses', async (t) => {
  const db = await BACKENDS.pglite(t)
  const cat = new GrantCatalog(new SqlGrantStore(db, new SqlAuditLog(db)), new LocalGrantFeed(), new FixedClock(T0), NO_POLL)
  await t.rejects(cat.candidatesFor(API), { reason: 'grants_stale', message: 'the grants are not loaded yet' })
})

t.test('activeGrant: the rule of an enabled, unexpired grant by id; none for the others; fails closed when stale', async (t) => {
  const db = await BACKENDS.pglite(t)
  const clock = new FixedClock(T0)
  const sql = new SqlGrantStore(db, new SqlAuditLog(db))
  const actor = 'spiffe://example.org/k8s/prod/ns/agents/sa/*'
  const active = await sql.create(draft({ mayAct: [actor] }), new Date(T0), ACTOR)
  const disabled = await sql.create(draft({ enabled: false }), new Date(T0), ACTOR)
  const expiring = await sql.create(draft({ expiresAt: new Date(T0 + 1000) }), new Date(T0), ACTOR)
  let monotonic = 0
  const cat = await catalog(t, sql, new LocalGrantFeed(), clock, { catchUpIntervalMs: 3_600_000, maxStalenessMs: 5000 }, () => monotonic)

  const rule = cat.activeGrant(active.id)
  t.same(
    rule && { id: rule.id, version: rule.version, subject: rule.subject, mayAct: rule.mayAct },
    { id: active.id, version: 1, subject: active.subject, mayAct: [actor] },
    'the active grant, as the hot path holds it',
  )
  t.equal(cat.activeGrant(disabled.id), undefined, 'disabled')
  t.equal(cat.activeGrant('00000000-0000-4000-8000-000000000000'), undefined, 'unknown')
  t.equal(cat.activeGrant(expiring.id)?.id, expiring.id, 'active until its expiresAt...')
  clock.advance(1000)
  t.equal(cat.activeGrant(expiring.id), undefined, '...expired at the clock now, though no change took it out')
  t.equal(cat.activeGrant(active.id)?.id, active.id)

  await sql.disable(active.id, new Date(T0), ACTOR)
  await cat.announceChange()
  t.equal(cat.activeGrant(active.id), undefined, 'a grant disabled since the load')

  monotonic = 5000
  t.equal(cat.activeGrant(active.id), undefined, 'at the bound, the copy is still vouched for')
  monotonic = 5001
  const stale = (id: string) => {
    try {
      return cat.activeGrant(id)
    } catch (error) {
      return error
    }
  }
  const error = stale(active.id)
  t.type(error, ServiceUnavailableError)
  t.match(error, { reason: 'grants_stale', message: 'the grants cannot be vouched for: no change read from the grant store for 5.0 s' })
  t.match(stale(expiring.id), { reason: 'grants_stale' }, 'whatever the grant')
  t.match(stale('00000000-0000-4000-8000-000000000000'), { reason: 'grants_stale' }, 'even an unknown one')
})

t.test('activeGrant before the catalog has loaded refuses', async (t) => {
  const db = await BACKENDS.pglite(t)
  const cat = new GrantCatalog(new SqlGrantStore(db, new SqlAuditLog(db)), new LocalGrantFeed(), new FixedClock(T0), NO_POLL)
  let error: unknown
  try {
    cat.activeGrant('00000000-0000-4000-8000-000000000000')
  } catch (thrown) {
    error = thrown
  }
  t.type(error, ServiceUnavailableError)
  t.match(error, { reason: 'grants_stale', message: 'the grants are not loaded yet' })
})
