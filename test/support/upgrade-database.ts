import pg from 'pg'
import type { Test } from 'tap'
import type { Database, Queryable } from '../../src/db/database.js'
import { createPostgresDatabase } from '../../src/db/postgres.js'
import type { LedgerEntry } from '../../src/ledger/ledger-store.js'
import { freshPostgresDatabase } from './servers.js'

/** What an upgrade test works with, on a fresh Postgres database of its own (not migrated yet). */
export interface UpgradeDatabase {
  /** The service's pool, as this release uses it. */
  db: Database
  /** A connection of its own for bulk fills and checks, so the pool's statement timeout does not apply. */
  raw: Queryable
  /** A replica of the previous release: its own connection, for its own SQL. */
  previousReplica: pg.Client
}

export async function upgradeDatabase(t: Test): Promise<UpgradeDatabase> {
  const url = await freshPostgresDatabase(t)
  const db = createPostgresDatabase({ url, poolSize: 6 })
  const bulk = new pg.Client({ connectionString: url })
  const previousReplica = new pg.Client({ connectionString: url })
  await Promise.all([bulk.connect(), previousReplica.connect()])
  t.teardown(async () => {
    await Promise.all([bulk.end(), previousReplica.end()])
    await db.close()
  })
  const raw: Queryable = {
    query: async (sql, params) => (await bulk.query(sql, params)).rows,
    exec: async (sql) => void (await bulk.query(sql)),
  }
  return { db, raw, previousReplica }
}

/** A release issuing tokens during an upgrade: every token it wrote, and its slowest write. */
export interface Issuer {
  written: LedgerEntry[]
  slowest(): number
  stop(): Promise<void>
}

/** Writes the batches `batchAt` makes (for the time given), back to back 5 ms apart until stopped, timing each. */
export function issuer(
  write: (entries: LedgerEntry[]) => Promise<unknown>,
  batchAt: (now: number, written: number) => LedgerEntry[],
): Issuer {
  const written: LedgerEntry[] = []
  let slowest = 0
  let stopped = false
  const done = (async () => {
    while (!stopped) {
      const batch = batchAt(Date.now(), written.length)
      const started = performance.now()
      await write(batch)
      slowest = Math.max(slowest, performance.now() - started)
      written.push(...batch)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })()
  return {
    written,
    slowest: () => slowest,
    stop: async () => {
      stopped = true
      await done
    },
  }
}
