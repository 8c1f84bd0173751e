import pg from 'pg'
import type { Database, Queryable } from './database.js'

export interface PostgresOptions {
  url: string
  poolSize: number
  /** Fail fast rather than queue forever when Postgres is unreachable. */
  connectionTimeoutMs?: number
  statementTimeoutMs?: number
}

export function createPostgresDatabase(options: PostgresOptions): Database {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 2000,
    statement_timeout: options.statementTimeoutMs ?? 5000,
    idleTimeoutMillis: 30_000,
  })
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', () => {})

  const queryOn = (client: pg.Pool | pg.PoolClient): Queryable => ({
    async query<Row>(sql: string, params?: unknown[]) {
      const result = await client.query(sql, params)
      return result.rows as Row[]
    },
    async exec(sql: string) {
      await client.query(sql)
    },
  })

  const withConnection = async <T>(work: (conn: Queryable) => Promise<T>): Promise<T> => {
    const client = await pool.connect()
    try {
      return await work(queryOn(client))
    } finally {
      client.release()
    }
  }

  return {
    kind: 'postgres',
    ...queryOn(pool),
    withConnection,
    transaction: (work) =>
      withConnection(async (conn) => {
        await conn.query('BEGIN')
        try {
          const result = await work(conn)
          await conn.query('COMMIT')
          return result
        } catch (error) {
          await conn.query('ROLLBACK').catch(() => {})
          throw error
        }
      }),
    close: () => pool.end(),
  }
}
