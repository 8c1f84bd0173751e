import type { Database } from '../../src/db/database.js'
import { LedgerPartitions } from '../../src/ledger/ledger-partitions.js'
import { SqlLedgerStore } from '../../src/ledger/sql-ledger-store.js'
import { InventoryRecorder } from '../../src/inventory/inventory-recorder.js'
import { SqlIdentityRollups } from '../../src/inventory/sql-identity-rollups.js'
import type { LedgerEntry } from '../../src/ledger/ledger-store.js'
import type { InventoryFlushObserver } from '../../src/observability/observers.js'
import { createLogger } from '../../src/lib/logger.js'
import { uuidV7 } from '../../src/lib/uuid-v7.js'

/** tokens.maxTtlSeconds's default: what bounds the ledger's live queries unless a test says otherwise. */
export const DEFAULT_MAX_TTL_SECONDS = 3600

/** The ledger store as compose.ts builds it, with daily partitions made on demand. */
export function sqlLedgerStore(db: Database, maxTtlSeconds = DEFAULT_MAX_TTL_SECONDS): SqlLedgerStore {
  return new SqlLedgerStore(db, { partitions: new LedgerPartitions(db, 'day'), maxTtlSeconds })
}

/**
 * An inventory recorder as compose.ts builds it, its timer not started: the roll-ups are written when
 * the test calls `flush()` (or `start()`s it). The lines it logs (warnings and errors, JSON) are kept in `logged`.
 */
export function inventoryRecorder(
  db: Pick<Database, 'transaction'>,
  options: { maxPendingRows?: number; intervalMs?: number; observer?: InventoryFlushObserver } = {},
): InventoryRecorder & { logged: string[] } {
  const logged: string[] = []
  const recorder = new InventoryRecorder({
    rollups: new SqlIdentityRollups(db),
    intervalMs: options.intervalMs ?? 5000,
    maxPendingRows: options.maxPendingRows ?? 100_000,
    logger: createLogger('warn', { write: (line: string) => void logged.push(line) }),
    ...(options.observer ? { observer: options.observer } : {}),
  })
  return Object.assign(recorder, { logged })
}

/** The ledger store as compose.ts builds it, handing each committed batch to `recorder` (the inventory's roll-ups). */
export function sqlLedgerStoreWithInventory(
  db: Database,
  recorder: InventoryRecorder,
  maxTtlSeconds = DEFAULT_MAX_TTL_SECONDS,
): SqlLedgerStore {
  return new SqlLedgerStore(db, { partitions: new LedgerPartitions(db, 'day'), maxTtlSeconds, onCommitted: recorder })
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

/**
 * An entry as the release before migration 023 binds it in `INSERT INTO ledger_entries (ENTRY_SELECT)`:
 * the thirteen columns above with the fingerprint as its bytes, then the columns added since 016.
 */
export function releaseBefore023Params(e: LedgerEntry): unknown[] {
  const params = previousReleaseParams(e)
  params[4] = Buffer.from(e.attestationFingerprint, 'base64url')
  return [
    ...params,
    e.kid ?? null,
    e.jkt ?? null,
    e.parentJti ?? null,
    e.ancestorJtis ?? null,
    e.actors ?? null,
    e.actorSources ?? null,
    e.actorGrantIds ?? null,
  ]
}
