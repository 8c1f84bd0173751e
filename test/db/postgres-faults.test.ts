import pg from 'pg'
import t, { type Test } from 'tap'
import { SqlAuditLog } from '../../src/audit/sql-audit-log.js'
import type { Database } from '../../src/db/database.js'
import { createPostgresDatabase } from '../../src/db/postgres.js'
import { migrate } from '../../src/db/migrations.js'
import { ServiceUnavailableError } from '../../src/errors.js'
import { SqlRegistrationStore } from '../../src/replay/sql-registration-store.js'
import { eventually } from '../support/eventually.js'
import { freshPostgresDatabase, POSTGRES_ADMIN_URL } from '../support/servers.js'

/** Connection faults are 503s for the call they hit; data errors stay what they are. */
async function setUp(t: Test) {
  const url = await freshPostgresDatabase(t)
  const db = createPostgresDatabase({ url, poolSize: 2 })
  t.teardown(() => db.close())
  await migrate(db)
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL })
  await admin.connect()
  t.teardown(() => admin.end())
  // Only a backend of this test's own database is ever terminated.
  const terminate = async (pid: number) => {
    const { rows } = await admin.query('SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE pid = $1 AND datname = $2', [
      pid,
      new URL(url).pathname.slice(1),
    ])
    t.equal(rows.length, 1, `backend ${pid} is ours and terminated`)
    // A backend told its client why before leaving pg_stat_activity: once it is gone from there, that
    // message is in our socket, and the poll phase that reads it ends before the next setImmediate.
    await eventually(t, async () => (await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rows.length === 0, {
      what: `backend ${pid} has exited`,
    })
    await new Promise((resolve) => setImmediate(resolve))
  }
  return { db, terminate }
}

t.test('a backend terminated between two statements of a transaction: a 503 for it, no crash, the next one works', async (t) => {
  const { db, terminate } = await setUp(t)
  const failed = db.transaction(async (tx) => {
    const [row] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
    // The connection dies while we hold it and no query is running: the checked-out client emits 'error'.
    await terminate(row.pid)
    await tx.query('SELECT 1')
  })
  const error = await failed.catch((e: unknown) => e)
  t.type(error, ServiceUnavailableError)
  t.equal((error as Error).message, 'the database is not reachable')
  t.match((error as Error).cause, { message: /not queryable|terminat/ }, 'the cause is kept for the log')
  // Twice the pool size: a dead client lent out again would fail one of them.
  for (let i = 0; i < 4; i++) t.same(await db.transaction((tx) => tx.query('SELECT 1 AS one')), [{ one: 1 }])
})

t.test('withConnection and plain queries: terminated backends are 503s', async (t) => {
  const { db, terminate } = await setUp(t)
  const viaConnection = await db
    .withConnection(async (conn) => {
      const [row] = await conn.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
      await terminate(row.pid)
      return conn.query('SELECT 1')
    })
    .catch((e: unknown) => e)
  t.type(viaConnection, ServiceUnavailableError)
  const [row] = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
  await terminate(row.pid)
  // The pool dropped the idle client whose backend went away; a query gets a fresh connection.
  t.same(await db.query('SELECT 1 AS one'), [{ one: 1 }])
  const stopped = await db.query('SELECT pg_terminate_backend(pg_backend_pid())').catch((e: unknown) => e)
  t.type(stopped, ServiceUnavailableError, 'a query whose own backend is terminated')
})

t.test('data errors are not faults of the connection', async (t) => {
  const { db } = await setUp(t)
  const syntax = await db.query('SELEC 1').catch((e: unknown) => e)
  t.notOk(syntax instanceof ServiceUnavailableError)
  t.equal((syntax as { code?: string }).code, '42601')
  const inTransaction = await db.transaction((tx) => tx.query("SELECT 'x'::int")).catch((e: unknown) => e)
  t.notOk(inTransaction instanceof ServiceUnavailableError)
  t.equal((inTransaction as { code?: string }).code, '22P02')
  t.same(await db.transaction((tx) => tx.query('SELECT 1 AS one')), [{ one: 1 }], 'the connection is fine and reused')
})

t.test('instance registrations: a backend terminated during the check is a 503', async (t) => {
  const { db, terminate } = await setUp(t)
  const flaky: Database = {
    ...db,
    // The registration's own transaction, with its backend terminated after its first statement.
    transaction: (work) =>
      db.transaction(async (tx) => {
        const [row] = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
        await terminate(row.pid)
        return work(tx)
      }),
  }
  const registrations = new SqlRegistrationStore(flaky, new SqlAuditLog(db))
  const request = { attestor: 'aws', instance: 'i-0123456789abcdef0', mode: 'always' as const, now: new Date(), clientAddress: '10.0.0.1' }
  const error = await registrations.admit(request).catch((e: unknown) => e)
  t.type(error, ServiceUnavailableError)
  t.equal((error as Error).message, 'instance registrations cannot be checked')
  await new SqlRegistrationStore(db, new SqlAuditLog(db)).admit(request)
  t.pass('admitted once the database answers')
})
