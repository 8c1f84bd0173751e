import t from 'tap'
import pg from 'pg'
import { InvalidInputError, ServiceUnavailableError, StoreDataError, storeFailure } from '../../src/errors.js'
import { failureOf } from '../../src/http/error-mapping.js'
import { freshPostgresDatabase } from '../support/servers.js'

/** A data error from the store is our bug (500), not an outage (503); an unreachable store is an outage. */
t.test('storeFailure tells a data error from an unreachable store', async (t) => {
  const url = await freshPostgresDatabase(t)
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.teardown(() => client.end())
  const dataError = await client.query('SELECT $1::uuid', ['-'.repeat(36)]).catch((error: unknown) => error)
  const failure = storeFailure('the grant store cannot be reached', dataError, 'grants_unavailable')
  t.ok(failure instanceof StoreDataError, 'invalid input syntax (SQLSTATE 22P02) is a data error')
  t.match(failure, { code: 'internal', reason: 'internal_error' })
  t.same(failureOf(failure), { status: 500, reason: 'internal_error', message: 'internal server error' }, 'its detail is logged, not shown')
  t.equal(failure.message, 'the grant store cannot be reached: the store refused the statement (SQLSTATE 22P02)')
  const nul = await client.query('SELECT $1::text', ['a\u0000b']).catch((error: unknown) => error)
  t.equal(
    (storeFailure('the audit log cannot be read', nul, 'audit_unavailable') as StoreDataError).sqlState,
    '22021',
    'a NUL byte is a data error too',
  )

  const refused = await new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:1/test', connectionTimeoutMillis: 2000 })
    .connect()
    .catch((error: unknown) => error)
  const outage = storeFailure('the grant store cannot be reached', refused, 'grants_unavailable')
  t.ok(outage instanceof ServiceUnavailableError, 'a refused connection is an outage')
  t.match(outage, { code: 'unavailable', reason: 'grants_unavailable' })
  t.equal(failureOf(outage).status, 503)
  t.equal(outage.message, 'the grant store cannot be reached')
  t.ok(
    storeFailure('x', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }), 'grants_unavailable') instanceof ServiceUnavailableError,
    'a Node system error code is not a SQLSTATE',
  )
  t.ok(storeFailure('x', new Error('Connection terminated unexpectedly'), 'grants_unavailable') instanceof ServiceUnavailableError)
  const databaseOutage = new ServiceUnavailableError('the database is not reachable', 'database_unavailable', refused)
  t.match(
    storeFailure('x', databaseOutage, 'grants_unavailable'),
    { message: 'the database is not reachable', reason: 'grants_unavailable', cause: refused },
    "the database layer's outage is this store's",
  )
  const ours = new InvalidInputError('no', [])
  t.equal(storeFailure('x', ours, 'grants_unavailable'), ours, 'our own errors pass through')
})
