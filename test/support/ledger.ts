import type { Database } from '../../src/db/database.js'
import { LedgerPartitions } from '../../src/ledger/ledger-partitions.js'
import { SqlLedgerStore } from '../../src/ledger/sql-ledger-store.js'

/** tokens.maxTtlSeconds's default: what bounds the ledger's live queries unless a test says otherwise. */
export const DEFAULT_MAX_TTL_SECONDS = 3600

/** The ledger store as compose.ts builds it, with daily partitions made on demand. */
export function sqlLedgerStore(db: Database, maxTtlSeconds = DEFAULT_MAX_TTL_SECONDS): SqlLedgerStore {
  return new SqlLedgerStore(db, { partitions: new LedgerPartitions(db, 'day'), maxTtlSeconds })
}
