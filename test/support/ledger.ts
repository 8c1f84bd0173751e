import type { Database } from '../../src/db/database.js'
import { LedgerPartitions } from '../../src/ledger/ledger-partitions.js'
import { SqlLedgerStore } from '../../src/ledger/sql-ledger-store.js'
import { SqlIdentityRollups } from '../../src/inventory/sql-identity-rollups.js'
import type { LedgerEntry } from '../../src/ledger/ledger-store.js'
import { uuidV7 } from '../../src/lib/uuid-v7.js'

/** tokens.maxTtlSeconds's default: what bounds the ledger's live queries unless a test says otherwise. */
export const DEFAULT_MAX_TTL_SECONDS = 3600

/** The ledger store as compose.ts builds it, with daily partitions made on demand. */
export function sqlLedgerStore(db: Database, maxTtlSeconds = DEFAULT_MAX_TTL_SECONDS): SqlLedgerStore {
  return new SqlLedgerStore(db, { partitions: new LedgerPartitions(db, 'day'), maxTtlSeconds })
}

/** The ledger store as compose.ts builds it, keeping the inventory's roll-ups on each batch's transaction. */
export function sqlLedgerStoreWithInventory(db: Database, maxTtlSeconds = DEFAULT_MAX_TTL_SECONDS): SqlLedgerStore {
  return new SqlLedgerStore(db, { partitions: new LedgerPartitions(db, 'day'), maxTtlSeconds, rollups: new SqlIdentityRollups(db) })
}

/**
 * A token on the ledger as the exchange records it: a v7 jti of its issue time (whole seconds, as a
 * JWT's iat), five minutes of life, one workload; `overrides` for whatever a test is about.
 */
export function ledgerEntry(issuedAt: number, overrides: Partial<LedgerEntry> = {}): LedgerEntry {
  const issued = Math.floor(issuedAt / 1000) * 1000
  return {
    jti: uuidV7(issuedAt),
    subject: 'spiffe://example.org/k8s/prod/ns/payments/sa/api',
    attestor: 'prod',
    attestorKind: 'kubernetes',
    attestationFingerprint: 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg',
    sources: ['k8s:prod'],
    audience: 'ledger-api',
    scopes: [],
    grantIds: [],
    issuedAt: new Date(issued),
    expiresAt: new Date(issued + 300_000),
    clientAddress: null,
    requestId: null,
    ...overrides,
  }
}

/** An entry as the previous release's `INSERT INTO ledger` binds it: its thirteen columns, in order. */
export function previousReleaseParams(e: LedgerEntry): unknown[] {
  return [
    e.jti,
    e.subject,
    e.attestor,
    e.attestorKind,
    e.attestationFingerprint,
    e.sources,
    e.audience,
    e.scopes,
    e.grantIds,
    e.issuedAt,
    e.expiresAt,
    e.clientAddress,
    e.requestId,
  ]
}
