import { mkdirSync } from 'node:fs'
import { PGlite } from '@electric-sql/pglite'
import { runAfterCommit, type Database, type Queryable } from './database.js'

/**
 * Embedded Postgres (PGlite) for a single instance with no DATABASE_URL. Same SQL, same migrations;
 * `dataDir` undefined keeps everything in memory (tests).
 */
export async function createPGliteDatabase(dataDir?: string): Promise<Database> {
  if (dataDir) mkdirSync(dataDir, { recursive: true })
  const db = await PGlite.create(dataDir)
  const queryable: Queryable = {
    async query<Row>(sql: string, params?: unknown[]) {
      const result = await db.query<Row>(sql, params)
      return result.rows
    },
    async exec(sql: string) {
      await db.exec(sql)
    },
  }
  return {
    kind: 'pglite',
    ...queryable,
    // PGlite is one connection: its own queue already serialises callers.
    withConnection: (work) => work(queryable),
    transaction: async (work) => {
      const committed: (() => void)[] = []
      const result = await db.transaction(async (tx) =>
        work({
          async query<Row>(sql: string, params?: unknown[]) {
            return (await tx.query<Row>(sql, params)).rows
          },
          async exec(sql: string) {
            await tx.exec(sql)
          },
          afterCommit: (action) => committed.push(action),
        }),
      )
      runAfterCommit(committed)
      return result
    },
    close: () => db.close(),
  }
}
