import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from '../lib/package-root.js'
import { ADVISORY_LOCKS } from './advisory-locks.js'
import type { Database } from './database.js'

export interface Migration {
  version: string
  sql: string
  checksum: string
}

export function readMigrations(dir = join(packageRoot(), 'migrations')): Migration[] {
  return readdirSync(dir)
    .filter((name) => /^\d{3,}_[\w-]+\.sql$/.test(name))
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name), 'utf8')
      return { version: name.replace(/\.sql$/, ''), sql, checksum: createHash('sha256').update(sql).digest('hex') }
    })
}

const MIGRATION_LOCK_ID = ADVISORY_LOCKS.migrations

/**
 * Applies pending migrations in order, each in its own transaction, under a session advisory lock
 * so several instances starting at once apply each migration exactly once. An applied migration whose
 * file has since changed stops the start: edited history is a bug, not something to paper over.
 */
export async function migrate(db: Database, migrations = readMigrations()): Promise<string[]> {
  return db.withConnection(async (conn) => {
    await conn.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID])
    try {
      await conn.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version text PRIMARY KEY,
        checksum text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`)
      const applied = new Map(
        (await conn.query<{ version: string; checksum: string }>('SELECT version, checksum FROM schema_migrations')).map((r) => [
          r.version,
          r.checksum,
        ]),
      )
      const done: string[] = []
      for (const migration of migrations) {
        const checksum = applied.get(migration.version)
        if (checksum !== undefined) {
          if (checksum !== migration.checksum) {
            throw new Error(`migration ${migration.version} was changed after it was applied; add a new migration instead`)
          }
          continue
        }
        await conn.query('BEGIN')
        try {
          await conn.exec(migration.sql)
          await conn.query('INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)', [migration.version, migration.checksum])
          await conn.query('COMMIT')
        } catch (error) {
          await conn.query('ROLLBACK').catch(() => {})
          throw new Error(`migration ${migration.version} failed: ${(error as Error).message}`)
        }
        done.push(migration.version)
      }
      return done
    } finally {
      await conn.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => {})
    }
  })
}
