import type { ConnectionOptions } from 'node:tls'
import pg from 'pg'
import { classifyDatabaseError, isConnectionFault } from './connection-faults.js'
import { runAfterCommit, type Database, type Queryable } from './database.js'

export interface PostgresOptions {
  url: string
  poolSize: number
  /** Fail fast rather than queue forever when Postgres is unreachable. */
  connectionTimeoutMs?: number
  statementTimeoutMs?: number
  /** TLS (postgres-tls.ts); without it, whatever the URL says (plain by default). */
  ssl?: ConnectionOptions | false
  /** Told of connection errors that reach no caller (an idle client's connection dying). */
  onIdleError?: (error: Error) => void
}

/**
 * Postgres through a pg pool. A fault of a connection (the backend terminated, the server stopped,
 * a timeout) is a ServiceUnavailableError for the one call it hits and never more: every client we
 * check out carries an 'error' listener for as long as we hold it (without one, a connection dying
 * between two statements of a transaction is an unhandled 'error' event, which ends the process),
 * and a client that failed is released with its error, so the pool destroys it instead of lending
 * it out again.
 */
export function createPostgresDatabase(options: PostgresOptions): Database {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 2000,
    statement_timeout: options.statementTimeoutMs ?? 5000,
    idleTimeoutMillis: 30_000,
    ...(options.ssl !== undefined ? { ssl: options.ssl } : {}),
  })
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', (error) => options.onIdleError?.(error))
  // Nor may any other client. pg-pool listens on a client only while it is idle or inside pool.query
  // (once), and under pg_terminate_backend in a loop a client with no listener at all was seen to emit
  // the 57P01 FATAL: an unhandled 'error' event. The query that failed has its error already; this
  // listener only keeps the event from ending the process.
  pool.on('connect', (client) => client.on('error', () => {}))

  const queryOn = (client: pg.Pool | pg.PoolClient): Queryable => ({
    async query<Row>(sql: string, params?: unknown[]) {
      try {
        const result = await client.query(sql, params)
        return result.rows as Row[]
      } catch (error) {
        throw classifyDatabaseError(error)
      }
    },
    async exec(sql: string) {
      try {
        await client.query(sql)
      } catch (error) {
        throw classifyDatabaseError(error)
      }
    },
  })

  /** Holds one client for `work`, which calls `discard` when the client must not be reused. */
  const withClient = async <T>(work: (conn: Queryable, discard: (error: unknown) => void) => Promise<T>): Promise<T> => {
    let client: pg.PoolClient
    try {
      client = await pool.connect()
    } catch (error) {
      throw classifyDatabaseError(error)
    }
    let fault: Error | undefined
    const onError = (error: Error) => {
      fault ??= error
    }
    client.on('error', onError)
    const discard = (error: unknown) => {
      fault ??= error instanceof Error ? error : new Error(String(error))
    }
    try {
      return await work(queryOn(client), discard)
    } catch (error) {
      if (isConnectionFault(error) || isConnectionFault((error as { cause?: unknown } | null | undefined)?.cause)) discard(error)
      throw error
    } finally {
      client.removeListener('error', onError)
      // With an error, the pool destroys the client rather than lend out a dead connection.
      client.release(fault)
    }
  }

  return {
    kind: 'postgres',
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    ...queryOn(pool),
    withConnection: (work) => withClient((conn) => work(conn)),
    transaction: (work) =>
      withClient(async (conn, discard) => {
        await conn.query('BEGIN')
        const committed: (() => void)[] = []
        try {
          const result = await work({ ...conn, afterCommit: (action) => committed.push(action) })
          await conn.query('COMMIT')
          runAfterCommit(committed)
          return result
        } catch (error) {
          // A failed ROLLBACK means the connection is in an unknown state: never reuse it.
          await conn.query('ROLLBACK').catch(discard)
          throw error
        }
      }),
    close: () => pool.end(),
  }
}
